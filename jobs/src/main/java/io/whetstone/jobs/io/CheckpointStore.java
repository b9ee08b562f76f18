package io.whetstone.jobs.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.datasets.tokenize.ByteTokenizer;
import io.whetstone.datasets.tokenize.HfTokenizer;
import io.whetstone.datasets.tokenize.SentencePieceTokenizer;
import io.whetstone.datasets.tokenize.TiktokenTokenizer;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.checkpoint.HfConfig;
import io.whetstone.models.checkpoint.HfFormat;
import io.whetstone.models.checkpoint.Safetensors;
import io.whetstone.models.checkpoint.Tensor;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.lora.LoraConfig;
import io.whetstone.models.lora.LoraLayout;
import io.whetstone.models.lora.LoraWeights;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.train.TrainingState;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.buffer.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints of a run, under {@code <run>/checkpoints/round-NNNNNN/}. A checkpoint is a directory a user
 * can take elsewhere: {@code config.json} + {@code model.safetensors} (Hugging Face names for the family)
 * + the tokenizer's files, plus {@code trainer_state/} ({@code state.json}: round, step, optimiser, data
 * cursor, the resolved job config; {@code optimizer.safetensors}: the optimiser's flat state vectors).
 * Written to a temporary directory, renamed into place, then marked with {@code _SUCCESS}; only marked
 * directories count, and the last {@code keep} are kept. Works on any Hadoop file system.
 */
public final class CheckpointStore {

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "round-";

    private final HadoopFiles files;
    private final Path root;

    public CheckpointStore(HadoopFiles files, String runDir) {
        this.files = files;
        this.root = new Path(runDir, "checkpoints");
    }

    /** A loaded checkpoint. */
    public record Loaded(String path, ModelConfig config, TrainingState state, int round, Tokenizer tokenizer,
                         JsonNode trainerState) {
    }

    /**
     * What a LoRA run's checkpoint needs besides the adapters: their layout, the frozen base (merged into a
     * full model in the final checkpoint) and where the base came from.
     */
    public record LoraContext(LoraLayout layout, float[] base, String baseSource) {
    }

    /** Writes the checkpoint of {@code round} (of a full-model run); returns its directory. */
    public String write(int round, TrainingState state, ModelConfig config, Tokenizer tokenizer, String optimizer,
                        List<String> stateNames, JsonNode resolvedConfig, long seed) {
        return write(round, state, config, tokenizer, optimizer, stateNames, resolvedConfig, seed, null, false);
    }

    /**
     * Writes the checkpoint of {@code round}; returns its directory. With {@code lora}, {@code state} holds
     * the adapters: they are written in PEFT's layout ({@code adapter_config.json},
     * {@code adapter_model.safetensors}) beside the base's {@code config.json} and tokenizer, and a
     * {@code finalCheckpoint} also gets {@code merged/}, the full model with the adapters merged in.
     */
    public String write(int round, TrainingState state, ModelConfig config, Tokenizer tokenizer, String optimizer,
                        List<String> stateNames, JsonNode resolvedConfig, long seed, LoraContext lora,
                        boolean finalCheckpoint) {
        return write(round, state, config, tokenizer, optimizer, stateNames, resolvedConfig, seed, lora,
                finalCheckpoint, null);
    }

    /**
     * What a job keeps beside the model and its optimiser state: tensors (written to
     * {@code trainer_state/extra.safetensors}, e.g. a value head and its moments) and fields of
     * {@code state.json} under {@code "extra"}.
     */
    public record Extras(Map<String, Tensor> tensors, JsonNode info) {
    }

    /** As the other writers, plus {@code extras} (may be null). */
    public String write(int round, TrainingState state, ModelConfig config, Tokenizer tokenizer, String optimizer,
                        List<String> stateNames, JsonNode resolvedConfig, long seed, LoraContext lora,
                        boolean finalCheckpoint, Extras extras) {
        Path target = new Path(root, String.format("%s%06d", PREFIX, round));
        Path temporary = new Path(root, "." + target.getName() + "._tmp-" + UUID.randomUUID());
        FileSystem fs = files.fs(root);
        try {
            fs.mkdirs(temporary);
            if (lora == null) {
                writeModel(temporary, state.params(), config, tokenizer);
            } else {
                writeAdapters(temporary, state.params(), config, tokenizer, lora);
                if (finalCheckpoint) {
                    Path merged = new Path(temporary, "merged");
                    fs.mkdirs(merged);
                    writeModel(merged, LoraWeights.merge(config, lora.base(), lora.layout(), state.params()), config,
                            tokenizer);
                }
            }
            Path trainer = new Path(temporary, "trainer_state");
            fs.mkdirs(trainer);
            Map<String, Tensor> vectors = new LinkedHashMap<>();
            for (int i = 0; i < stateNames.size(); i++) {
                vectors.put(stateNames.get(i), new Tensor(new long[] {state.params().length},
                        state.optimizerState()[i]));
            }
            files.writeAtomically(new Path(trainer, "optimizer.safetensors"),
                    out -> Safetensors.write(out, vectors, Map.of("layout", "whetstone-flat-v1")));
            ObjectNode info = JSON.createObjectNode();
            info.put("format_version", 1);
            info.put("round", round);
            info.put("step", state.step());
            info.put("optimizer", optimizer);
            info.putPOJO("optimizer_state", stateNames);
            ObjectNode cursor = info.putObject("data_cursor");
            cursor.put("next_round", round + 1);
            cursor.put("note", "each partition's rows are a pure function of (seed, partition, round)");
            info.put("seed", seed);
            if (lora != null) {
                ObjectNode adapters = info.putObject("lora");
                adapters.put("base", lora.baseSource());
                adapters.put("base_sha256", sha256(lora.base()));
            }
            if (extras != null) {
                if (!extras.tensors().isEmpty()) {
                    files.writeAtomically(new Path(trainer, "extra.safetensors"),
                            out -> Safetensors.write(out, extras.tensors(), Map.of("layout", "whetstone-extra-v1")));
                }
                info.set("extra", extras.info());
            }
            info.put("rng", "no hidden generator state: data order and initialisation derive from the seed");
            info.set("config", resolvedConfig);
            files.writeBytes(new Path(trainer, "state.json"), JSON.writerWithDefaultPrettyPrinter()
                    .writeValueAsBytes(info));
            files.publishDirectory(temporary, target);
            return target.toString();
        } catch (IOException | RuntimeException e) {
            // the previous checkpoints are untouched; only the half-written temporary goes
            try {
                fs.delete(temporary, true);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot write checkpoint " + target, io);
            }
            throw (RuntimeException) e;
        }
    }

    /** Writes adapters in PEFT's layout, with the base's config.json and the tokenizer, into {@code dir}. */
    private void writeAdapters(Path dir, float[] adapters, ModelConfig config, Tokenizer tokenizer, LoraContext lora)
            throws IOException {
        Map<String, Tensor> tensors = LoraWeights.toPeft(config, lora.layout(), adapters);
        files.writeAtomically(new Path(dir, "adapter_model.safetensors"),
                out -> Safetensors.write(out, tensors, Map.of("format", "pt")));
        files.writeBytes(new Path(dir, "adapter_config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(
                LoraWeights.adapterConfig(config, lora.layout().config(), huggingFaceBase(config, tokenizer, lora))));
        ObjectNode hfConfig = HfFormat.configJson(config, bosIdOrNone(tokenizer), tokenizer.eosId());
        files.writeBytes(new Path(dir, "config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(hfConfig));
        for (Map.Entry<String, byte[]> file : tokenizer.files().entrySet()) {
            files.writeBytes(new Path(dir, file.getKey()), file.getValue());
        }
    }

    /**
     * Where PEFT finds the adapters' base: the base itself when it is a model directory; for a GGUF base, a
     * Hugging Face copy written once beside the checkpoints ({@code base/} under the checkpoint root).
     */
    private String huggingFaceBase(ModelConfig config, Tokenizer tokenizer, LoraContext lora) throws IOException {
        if (lora.baseSource() == null) {
            return null;
        }
        if (!lora.baseSource().toLowerCase().endsWith(".gguf")) {
            // absolute: a relative path would be read relative to the adapter directory
            return peftPath(files.qualify(lora.baseSource()));
        }
        Path base = new Path(root, "base");
        if (!files.exists(new Path(base, "_SUCCESS"))) {
            Path temporary = new Path(root, ".base._tmp-" + UUID.randomUUID());
            files.fs(root).mkdirs(temporary);
            writeModel(temporary, lora.base(), config, tokenizer);
            files.publishDirectory(temporary, base);
        }
        return peftPath(files.fs(root).makeQualified(base).toString());
    }

    /**
     * A base path as PEFT reads it: a local file as a plain absolute path (transformers takes "file:/..." for a
     * hub repository id and fails); any other file system keeps its URI.
     */
    static String peftPath(String qualified) {
        java.net.URI uri = new Path(qualified).toUri();
        return "file".equals(uri.getScheme()) ? uri.getPath() : qualified;
    }

    /** The first 16 hex digits of SHA-256 over the values (identifies a frozen base). */
    public static String sha256(float[] values) {
        try {
            java.security.MessageDigest digest = java.security.MessageDigest.getInstance("SHA-256");
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(4 * 4096).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (float value : values) {
                if (!buffer.hasRemaining()) {
                    digest.update(buffer.array(), 0, buffer.position());
                    buffer.clear();
                }
                buffer.putFloat(value);
            }
            digest.update(buffer.array(), 0, buffer.position());
            return java.util.HexFormat.of().formatHex(digest.digest()).substring(0, 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes a model directory (config.json, model.safetensors, tokenizer files) into {@code dir}. */
    public void writeModel(Path dir, float[] params, ModelConfig config, Tokenizer tokenizer) throws IOException {
        writeModel(dir, params, config, tokenizer, Safetensors.StorageType.F32);
    }

    /** As {@link #writeModel(Path, float[], ModelConfig, Tokenizer)}, the weights stored as {@code type}. */
    public void writeModel(Path dir, float[] params, ModelConfig config, Tokenizer tokenizer,
                           Safetensors.StorageType type) throws IOException {
        ParameterStore store = new ParameterStore(ParameterLayout.of(config), DataType.FLOAT);
        TrainingState.copyInto(params, store.params());
        Map<String, Tensor> tensors = HfFormat.export(store, config);
        files.writeAtomically(new Path(dir, "model.safetensors"),
                out -> Safetensors.write(out, tensors, Map.of("format", "pt"), type));
        ObjectNode hfConfig = HfConfig.write(config, bosIdOrNone(tokenizer), tokenizer.eosId(), type.torchName());
        files.writeBytes(new Path(dir, "config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(hfConfig));
        for (Map.Entry<String, byte[]> file : tokenizer.files().entrySet()) {
            files.writeBytes(new Path(dir, file.getKey()), file.getValue());
        }
    }

    /** The tokenizer's BOS id, or -1 when it has none (Qwen's tokenizers set bos_token to null). */
    private static int bosIdOrNone(Tokenizer tokenizer) {
        try {
            return tokenizer.bosId();
        } catch (IllegalArgumentException none) {
            return -1;
        }
    }

    /** The architecture's class with another head: Qwen2ForCausalLM -> Qwen2ForSequenceClassification. */
    private static String headClass(ModelConfig config, String head) {
        return config.architecture().hfClass().replace("ForCausalLM", head);
    }

    /**
     * Writes a reward model in Hugging Face's sequence-classification layout ({@code LlamaForSequenceClassification},
     * {@code Qwen2ForSequenceClassification}... or {@code GPT2ForSequenceClassification}, one label): the base model's tensors, without the language-model
     * head, and {@code score.weight} [1, C], the head's row of {@code scoreToken} (the reward is that row times the
     * final normed hidden state after the last token); then {@code _SUCCESS}.
     */
    public void writeRewardModel(Path dir, float[] params, ModelConfig config, Tokenizer tokenizer, int scoreToken)
            throws IOException {
        boolean gpt2 = config.family() == io.whetstone.models.Family.GPT2;
        writeScoreModel(dir, params, config, tokenizer, scoreToken, gpt2 ? "GPT2ForSequenceClassification"
                : headClass(config, "ForSequenceClassification"), "score", false);
    }

    /**
     * Writes a process reward model as Hugging Face's token-classification layout with one label: the base model's
     * tensors (no LM head), the head ({@code score.weight} [1, C] and {@code score.bias} [1] for Llama,
     * {@code classifier.*} for GPT-2; the bias is 0: the LM-head row has none), config.json with
     * {@code *ForTokenClassification}, the tokenizer, {@code _SUCCESS}. A step's score is the head at the step's
     * last token.
     */
    public void writeProcessRewardModel(Path dir, float[] params, ModelConfig config, Tokenizer tokenizer,
                                        int scoreToken) throws IOException {
        boolean gpt2 = config.family() == io.whetstone.models.Family.GPT2;
        writeScoreModel(dir, params, config, tokenizer, scoreToken, gpt2 ? "GPT2ForTokenClassification"
                : headClass(config, "ForTokenClassification"), gpt2 ? "classifier" : "score", true);
    }

    private void writeScoreModel(Path dir, float[] params, ModelConfig config, Tokenizer tokenizer, int scoreToken,
                                 String architecture, String head, boolean bias) throws IOException {
        ParameterStore store = new ParameterStore(ParameterLayout.of(config), DataType.FLOAT);
        TrainingState.copyInto(params, store.params());
        String lmHead = config.tiedEmbeddings() ? (config.family() == io.whetstone.models.Family.GPT2 ? "wte.weight"
                : "embed") : "lm_head";
        float[] score = TrainingState.toFloats(store.tensor(lmHead).getRow(scoreToken).dup());
        Map<String, Tensor> tensors = new java.util.LinkedHashMap<>(HfFormat.export(store, config));
        tensors.remove("lm_head.weight");
        tensors.put(head + ".weight", new Tensor(new long[] {1, config.width()}, score));
        if (bias) {
            tensors.put(head + ".bias", new Tensor(new long[] {1}, new float[1]));
        }
        files.writeAtomically(new Path(dir, "model.safetensors"),
                out -> Safetensors.write(out, tensors, Map.of("format", "pt")));
        ObjectNode hfConfig = HfFormat.configJson(config, bosIdOrNone(tokenizer), tokenizer.eosId());
        hfConfig.putArray("architectures").add(architecture);
        hfConfig.put("num_labels", 1);
        hfConfig.putObject("id2label").put("0", "LABEL_0");
        hfConfig.putObject("label2id").put("LABEL_0", 0);
        hfConfig.put("pad_token_id", tokenizer.padId());
        hfConfig.put("whetstone_score_token", scoreToken);
        files.writeBytes(new Path(dir, "config.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(hfConfig));
        for (Map.Entry<String, byte[]> file : tokenizer.files().entrySet()) {
            files.writeBytes(new Path(dir, file.getKey()), file.getValue());
        }
        files.writeBytes(new Path(dir, "_SUCCESS"), new byte[0]);
    }

    /** The newest complete checkpoint of the run, if any. */
    public Optional<String> latest() {
        List<Path> complete = complete();
        return complete.isEmpty() ? Optional.empty() : Optional.of(complete.get(complete.size() - 1).toString());
    }

    /** Complete checkpoints, oldest first. */
    public List<Path> complete() {
        FileSystem fs = files.fs(root);
        List<Path> result = new ArrayList<>();
        try {
            if (!fs.exists(root)) {
                return result;
            }
            for (FileStatus status : fs.listStatus(root)) {
                String name = status.getPath().getName();
                if (status.isDirectory() && name.startsWith(PREFIX) && fs.exists(new Path(status.getPath(), "_SUCCESS"))) {
                    result.add(status.getPath());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list checkpoints in " + root, e);
        }
        result.sort((a, b) -> a.getName().compareTo(b.getName()));
        return result;
    }

    /** Deletes all but the newest {@code keep} complete checkpoints, and leftover temporaries. */
    public void prune(int keep) {
        FileSystem fs = files.fs(root);
        List<Path> complete = complete();
        try {
            for (int i = 0; i < complete.size() - keep; i++) {
                fs.delete(complete.get(i), true);
            }
            for (FileStatus status : fs.listStatus(root)) {
                if (status.getPath().getName().startsWith(".") && status.getPath().getName().contains("._tmp-")) {
                    fs.delete(status.getPath(), true);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prune checkpoints in " + root, e);
        }
    }

    /** The extra tensors a checkpoint holds ({@link Extras}); empty if none. */
    public Map<String, Tensor> extraTensors(String dir) {
        Path file = new Path(new Path(dir, "trainer_state"), "extra.safetensors");
        try {
            return files.exists(file) ? read(files, file) : Map.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** Loads a checkpoint directory written by {@link #write} (trainer state included). */
    /**
     * The checkpoint a run continues from, as {@code checkpoint.resume} says: {@code none} (a fresh start),
     * {@code auto} (the newest complete checkpoint of the run directory, if any) or a checkpoint directory.
     * {@code lora} (may be null) reads the adapters of a LoRA run.
     */
    public Optional<Loaded> resume(String resume, LoraConfig lora) {
        if (resume.equals("none")) {
            return Optional.empty();
        }
        if (resume.equals("auto")) {
            return newestUsable(lora);
        }
        return Optional.of(load(resume, lora));
    }

    /**
     * The newest complete checkpoint that loads. A damaged one (a truncated or unreadable file) is skipped with a
     * warning naming it and why, and the one before it is tried; when checkpoints exist but none loads, the error
     * lists each with its reason.
     */
    private Optional<Loaded> newestUsable(LoraConfig lora) {
        List<Path> complete = complete();
        List<String> reasons = new ArrayList<>();
        for (int i = complete.size() - 1; i >= 0; i--) {
            String dir = complete.get(i).toString();
            try {
                Loaded loaded = load(dir, lora);
                if (!reasons.isEmpty()) {
                    LOG.warn("Resuming from {}: the newer checkpoints could not be read ({})", dir,
                            String.join("; ", reasons));
                }
                return Optional.of(loaded);
            } catch (RuntimeException e) {
                String message = e.getMessage() + (e.getCause() != null && e.getCause().getMessage() != null
                        ? " (" + e.getCause().getMessage() + ")" : "");
                LOG.warn("Checkpoint {} is damaged and skipped: {}", dir, message);
                reasons.add(message.contains(dir) ? message : dir + ": " + message);
            }
        }
        if (!reasons.isEmpty()) {
            throw new IllegalArgumentException("no usable checkpoint to resume from in " + root + ":\n  "
                    + String.join("\n  ", reasons) + "\nset checkpoint.resume=none to start over, or to a "
                    + "checkpoint directory");
        }
        return Optional.empty();
    }

    public Loaded load(String dir) {
        return load(dir, null);
    }

    /** Loads a checkpoint; with {@code lora}, its trainable state is the adapters (PEFT files). */
    public Loaded load(String dir, LoraConfig lora) {
        Path path = new Path(dir);
        Path trainer = new Path(path, "trainer_state");
        try {
            JsonNode info = JSON.readTree(files.readBytes(new Path(trainer, "state.json")));
            if ((lora != null) != info.has("lora")) {
                throw new IllegalArgumentException(dir + (lora != null ? " holds a full model, not adapters: "
                        : " holds adapters: ") + "lora.enabled must match the run that wrote it");
            }
            ModelAndTokenizer model = lora == null ? loadModel(files, dir) : loadAdapters(dir, lora);
            Path optimizerFile = new Path(trainer, "optimizer.safetensors");
            Map<String, Tensor> vectors = read(files, optimizerFile);
            List<float[]> state = new ArrayList<>();
            for (JsonNode name : info.path("optimizer_state")) {
                Tensor tensor = vectors.get(name.asText());
                if (tensor == null || tensor.values().length != model.params().length) {
                    throw new IllegalArgumentException(optimizerFile + ": missing or mis-sized vector " + name.asText());
                }
                state.add(tensor.values());
            }
            TrainingState trainingState = new TrainingState(model.params(), state.toArray(new float[0][]),
                    info.path("step").asLong());
            return new Loaded(dir, model.config(), trainingState, info.path("round").asInt(), model.tokenizer(), info);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load checkpoint " + dir, e);
        }
    }

    /** A LoRA checkpoint's base shape, adapters (as "params") and tokenizer. */
    private ModelAndTokenizer loadAdapters(String dir, LoraConfig lora) throws IOException {
        Path path = new Path(dir);
        Path configFile = new Path(path, "config.json");
        ModelConfig config = HfFormat.parseConfig(JSON.readTree(files.readBytes(configFile)), configFile.toString());
        Path adapterFile = new Path(path, "adapter_model.safetensors");
        float[] adapters = LoraWeights.fromPeft(config, new LoraLayout(config, lora),
                ModelSources.read(files, adapterFile), adapterFile.toString());
        return new ModelAndTokenizer(config, adapters, loadTokenizer(files, dir));
    }

    /** A model directory's shape, flat parameters and tokenizer. */
    public record ModelAndTokenizer(ModelConfig config, float[] params, Tokenizer tokenizer) {
    }

    /**
     * Loads {@code config.json}, the tensors ({@code model.safetensors} or a sharded
     * {@code model.safetensors.index.json}) and the tokenizer of a model directory.
     */
    public static ModelAndTokenizer loadModel(HadoopFiles files, String dir) {
        Path path = new Path(dir);
        try {
            Path configFile = new Path(path, "config.json");
            if (!files.exists(configFile)) {
                throw new IllegalArgumentException(dir + " is not a model directory: no config.json");
            }
            ModelConfig config = HfFormat.parseConfig(JSON.readTree(files.readBytes(configFile)), configFile.toString());
            Map<String, Tensor> tensors = ModelSources.tensors(files, path);
            float[] params = ModelSources.parameters(tensors, config, path.toString());
            return new ModelAndTokenizer(config, params, loadTokenizer(files, dir));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load model " + dir, e);
        }
    }

    /** The tokenizer saved in a model directory. */
    public static Tokenizer loadTokenizer(HadoopFiles files, String dir) throws IOException {
        Path config = new Path(dir, "tokenizer_config.json");
        byte[] configBytes = files.exists(config) ? files.readBytes(config) : null;
        String kind = configBytes == null ? "" : JSON.readTree(configBytes).path("whetstone_tokenizer").asText("");
        if (kind.equals("byte")) {
            return new ByteTokenizer();
        }
        if (kind.equals("r50k_base")) {
            return new TiktokenTokenizer();
        }
        Path vocabulary = new Path(dir, SentencePieceTokenizer.VOCABULARY_FILE);
        if (kind.equals("spm") && files.exists(vocabulary)) {
            return SentencePieceTokenizer.fromVocabulary(files.readBytes(vocabulary));
        }
        Path json = new Path(dir, "tokenizer.json");
        if (!files.exists(json)) {
            Tokenizer slowFiles = fromVocabularyAndMerges(files, new Path(dir), configBytes, Map.of());
            if (slowFiles != null) {
                return slowFiles;
            }
            // A GPT-2 tokenizer named by its class and shipped with no vocabulary files is GPT-2's own, r50k_base.
            String tokenizerClass = configBytes == null ? ""
                    : JSON.readTree(configBytes).path("tokenizer_class").asText("");
            if (tokenizerClass.startsWith("GPT2Tokenizer")) {
                return new TiktokenTokenizer();
            }
            throw new IllegalArgumentException(dir + " has no tokenizer.json (nor vocab.json and merges.txt)");
        }
        return HfTokenizer.of(files.readBytes(json), withChatTemplateFile(files, new Path(dir), configBytes), Map.of());
    }

    /**
     * The byte-level BPE of a directory that ships transformers' slow-tokenizer files, {@code vocab.json} and
     * {@code merges.txt} (GPT-2 and its fine-tunes, models with their own byte-level BPE), converted as
     * transformers converts them; null when the directory has neither file.
     *
     * @throws IllegalArgumentException when only one of the two is there, or one is malformed (naming it)
     */
    public static Tokenizer fromVocabularyAndMerges(HadoopFiles files, Path dir, byte[] configBytes,
                                                    Map<String, String> aliases) {
        Path vocab = new Path(dir, "vocab.json");
        Path merges = new Path(dir, "merges.txt");
        boolean hasVocab = files.exists(vocab);
        boolean hasMerges = files.exists(merges);
        if (!hasVocab && !hasMerges) {
            return null;
        }
        if (!hasVocab || !hasMerges) {
            throw new IllegalArgumentException(dir + " has " + (hasVocab ? vocab.getName() : merges.getName())
                    + " but no " + (hasVocab ? merges.getName() : vocab.getName()) + " (and no tokenizer.json): "
                    + "a byte-level BPE needs both");
        }
        Path added = new Path(dir, "added_tokens.json");
        io.whetstone.datasets.tokenize.ByteLevelBpeFiles.Converted converted =
                io.whetstone.datasets.tokenize.ByteLevelBpeFiles.convert(dir.toString(), files.readBytes(vocab),
                        files.readBytes(merges), files.exists(added) ? files.readBytes(added) : null, configBytes);
        return HfTokenizer.of(converted.tokenizerJson(), withChatTemplateFile(files, dir, converted.tokenizerConfig()),
                aliases);
    }

    /**
     * {@code config} (tokenizer_config.json's bytes, may be null) with the {@code chat_template.jinja} beside it in
     * {@code dir} as its chat_template, where the config has none (transformers 4.43 and later may write it apart).
     */
    public static byte[] withChatTemplateFile(HadoopFiles files, Path dir, byte[] config) {
        Path template = new Path(dir, "chat_template.jinja");
        if (!files.exists(template) || HfTokenizer.chatTemplateOf(config) != null) {
            return config;
        }
        return HfTokenizer.configWithChatTemplate(config,
                new String(files.readBytes(template), java.nio.charset.StandardCharsets.UTF_8));
    }

    private static Map<String, Tensor> read(HadoopFiles files, Path file) throws IOException {
        FileSystem fs = files.fs(file);
        long size = fs.getFileStatus(file).getLen();
        try (InputStream in = fs.open(file)) {
            return Safetensors.read(in, size, file.toString());
        }
    }
}
