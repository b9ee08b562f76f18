package io.whetstone.jobs.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.tokenize.ByteTokenizer;
import io.whetstone.jobs.SparkTestSession;
import io.whetstone.jobs.TestData;
import io.whetstone.jobs.config.ConfigException;
import io.whetstone.jobs.config.SftConfig;
import io.whetstone.jobs.sft.SftJob;
import io.whetstone.jobs.sft.SftResult;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.distill.DistillLoss;
import io.whetstone.models.distill.Divergence;
import io.whetstone.models.distill.TokenDivergence;
import io.whetstone.models.engine.EngineOptions;
import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.kernels.KernelChoice;
import io.whetstone.models.train.TrainingState;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Logit distillation through the SFT job on Spark: a student trained on the teacher's distributions (run on
 * every batch, or as top-k log-probs computed once and cached) ends closer to the teacher than the same
 * student trained on the data alone, and a teacher with another tokenizer is refused before any training.
 */
class DistillJobTest {

    @TempDir
    static Path shared;
    private static Path data;
    private static SftResult teacher;
    private static double dataOnlyKl;
    private static SftResult dataOnly;

    @BeforeAll
    static void trainTeacherAndDataOnlyStudent() throws IOException {
        data = TestData.write(shared, "corpus.jsonl", TestData.promptCompletionLines(80, 4));
        List<String> teacherSettings = TestData.tinySft(data, shared.resolve("teacher"));
        teacherSettings.addAll(List.of("model.width=48", "model.layers=2", "train.rounds=8"));
        teacher = new SftJob(SparkTestSession.get(), SftConfig.load(null, teacherSettings)).run();
        dataOnly = student(data, shared.resolve("data-only"), "", 1.0);
        dataOnlyKl = meanKl(teacher, dataOnly, sequences(data));
    }

    @Test
    void aDistilledStudentMatchesTheTeacherBetterThanOneTrainedOnTheDataAlone(@TempDir Path dir) throws IOException {
        SftResult distilled = student(data, dir.resolve("distilled"), teacher.checkpoint(), 0.0);
        double distilledKl = meanKl(teacher, distilled, sequences(data));
        assertTrue(distilledKl < 0.8 * dataOnlyKl, "KL(teacher || student): distilled " + distilledKl
                + " vs data only " + dataOnlyKl);
    }

    /**
     * With k = the whole vocabulary the top-k path (teacher log-probs computed once, cached, carried by the
     * rows) must train the student as the teacher run on every batch does, up to the float rounding of the
     * stored log-probs; a second run reads the cache instead of running the teacher again.
     */
    @Test
    void topKOfTheWholeVocabularyTrainsAsTheFullTeacherAndIsCached() throws IOException {
        int vocab = teacher.config().vocabSize();
        SftResult full = student(data, shared.resolve("full"), teacher.checkpoint(), 0.0);
        SftResult first = student(data, shared.resolve("top-k-1"), teacher.checkpoint(), 0.0, "distill.top_k=" + vocab);
        double difference = 0;
        double norm = 0;
        for (int i = 0; i < full.modelParams().length; i++) {
            difference += Math.pow(full.modelParams()[i] - first.modelParams()[i], 2);
            norm += Math.pow(full.modelParams()[i], 2);
        }
        assertTrue(Math.sqrt(difference / norm) < 1e-3, "relative L2 difference " + Math.sqrt(difference / norm));
        List<Path> caches;
        try (var listing = java.nio.file.Files.list(shared.resolve("_cache"))) {
            caches = listing.filter(p -> p.getFileName().toString().startsWith("teacher-top" + vocab + "-")).toList();
        }
        assertEquals(1, caches.size(), "one top-k cache for the corpus and teacher");
        long written = java.nio.file.Files.getLastModifiedTime(caches.get(0).resolve("_SUCCESS")).toMillis();

        SftResult second = student(data, shared.resolve("top-k-2"), teacher.checkpoint(), 0.0, "distill.top_k=" + vocab);
        assertEquals(written, java.nio.file.Files.getLastModifiedTime(caches.get(0).resolve("_SUCCESS")).toMillis(),
                "the cache is read, not rewritten");
        org.junit.jupiter.api.Assertions.assertArrayEquals(first.modelParams(), second.modelParams(), 0f);
    }

    /** GKD: every step on the student's own samples, scored by the teacher; the divergence falls, runs repeat. */
    @Test
    void onPolicyDistillationTrainsOnTheStudentsSamplesReproducibly() throws IOException {
        SftResult first = student(data, shared.resolve("on-policy-1"), teacher.checkpoint(), 0.0,
                "distill.on_policy_fraction=1.0");
        assertTrue(first.lastLoss() < 0.5 * first.firstLoss(), "divergence on the student's samples: "
                + first.firstLoss() + " -> " + first.lastLoss());
        SftResult second = student(data, shared.resolve("on-policy-2"), teacher.checkpoint(), 0.0,
                "distill.on_policy_fraction=1.0");
        org.junit.jupiter.api.Assertions.assertArrayEquals(first.modelParams(), second.modelParams(), 0f);
        ConfigException mixed = assertThrows(ConfigException.class, () -> SftConfig.load(null,
                List.of("data.path=x.jsonl", "distill.on_policy_fraction=0.5", "distill.top_k=8")));
        assertTrue(mixed.getMessage().contains("top_k"), mixed.getMessage());
    }

    @Test
    void aTeacherWithAnotherTokenizerIsRefused(@TempDir Path dir) throws IOException {
        Path data = TestData.write(dir, "corpus.jsonl", TestData.promptCompletionLines(20, 4));
        String stories = Path.of(System.getProperty("whetstone.assets", "../shared/assets"), "stories260K.gguf").toUri()
                .toString();
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> student(data, dir.resolve("run"), stories, 0.5));
        assertTrue(error.getMessage().contains("needs one tokenizer"), error.getMessage());
        assertThrows(ConfigException.class, () -> SftConfig.load(null, List.of("distill.ce_weight=1.5")));
        assertThrows(ConfigException.class, () -> SftConfig.load(null, List.of("distill.divergence=jsd",
                "distill.beta=0")));
    }

    private static SftResult student(Path data, Path runDir, String teacher, double ceWeight, String... extra) {
        List<String> settings = TestData.tinySft(data, runDir);
        settings.addAll(List.of(extra));
        settings.addAll(List.of("model.width=16", "train.rounds=8", "train.lr=0.01", "distill.temperature=1.0",
                "distill.ce_weight=" + ceWeight));
        if (!teacher.isEmpty()) {
            settings.add("distill.teacher=" + teacher);
        }
        return new SftJob(SparkTestSession.get(), SftConfig.load(null, settings)).run();
    }

    /** Token ids of prompt + completion, and where the completion starts (the positions both students trained on). */
    private record Sequence(int[] ids, int completionStart) {
    }

    private static List<Sequence> sequences(Path data) throws IOException {
        ByteTokenizer tokenizer = new ByteTokenizer();
        ObjectMapper json = new ObjectMapper();
        List<Sequence> out = new ArrayList<>();
        for (String line : java.nio.file.Files.readAllLines(data).subList(0, 16)) {
            var node = json.readTree(line);
            // as the SFT job lays out a prompt_completion example: BOS prompt | completion EOS
            int[] prompt = tokenizer.encode(node.get("prompt").asText());
            int[] completion = tokenizer.encode(node.get("completion").asText());
            int[] ids = new int[prompt.length + completion.length + 2];
            ids[0] = tokenizer.bosId();
            System.arraycopy(prompt, 0, ids, 1, prompt.length);
            System.arraycopy(completion, 0, ids, 1 + prompt.length, completion.length);
            ids[ids.length - 1] = tokenizer.eosId();
            out.add(new Sequence(ids, 1 + prompt.length));
        }
        return out;
    }

    /** Mean forward KL of the teacher's and the student's next-token distributions where completion tokens are predicted. */
    private static double meanKl(SftResult teacher, SftResult student, List<Sequence> sequences) {
        return meanKl(teacher, student, sequences, 0);
    }

    /** As above; with k > 0, the KL of the two distributions coarsened to the teacher's top k plus the rest. */
    private static double meanKl(SftResult teacher, SftResult student, List<Sequence> sequences, int k) {
        EngineOptions options = new EngineOptions(DataType.FLOAT, KernelChoice.REFERENCE, 1);
        TokenDivergence kl = new TokenDivergence(new DistillLoss(Divergence.FORWARD_KL, 0, 1));
        double sum = 0;
        int count = 0;
        try (Transformer t = load(teacher.config(), teacher.modelParams(), options);
             Transformer s = load(student.config(), student.modelParams(), options)) {
            for (Sequence sequence : sequences) {
                int[] ids = sequence.ids();
                int[] targets = new int[ids.length];
                java.util.Arrays.fill(targets, -1);
                ForwardPass teacherPass = t.forward(ids, targets, 1, ids.length);
                double[][] teacherRows = new double[ids.length][];
                for (int i = 0; i < ids.length; i++) {
                    teacherRows[i] = teacherPass.logits().getRow(i).toDoubleVector();
                }
                ForwardPass studentPass = s.forward(ids, targets, 1, ids.length);
                double[] gradient = new double[(int) studentPass.logits().columns()];
                for (int i = sequence.completionStart() - 1; i < ids.length - 1; i++) {
                    double[] studentRow = studentPass.logits().getRow(i).toDoubleVector();
                    if (k == 0) {
                        sum += kl.full(studentRow, teacherRows[i], gradient);
                    } else {
                        int[] topIds = new int[k];
                        float[] logProbs = new float[k];
                        TeacherTopKCache.select(teacherRows[i], 1.0, k, topIds, logProbs, 0);
                        sum += kl.topK(studentRow, topIds, logProbs, gradient);
                    }
                    count++;
                }
            }
        }
        return sum / count;
    }

    private static Transformer load(ModelConfig config, float[] params, EngineOptions options) {
        Transformer model = new Transformer(config, options);
        TrainingState.copyInto(params, model.parameters().params());
        return model;
    }
}
