package io.whetstone.jobs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    @Test
    void defaultsFileAndOverridesMergeInOrder(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("sft.yaml");
        Files.writeString(file, "data:\n  path: /corpus\n  seq_len: 64\ntrain:\n  lr: 0.01\n");
        SftConfig config = SftConfig.load(file, List.of("train.lr=0.02", "model.family=llama"));
        assertEquals("/corpus", config.data().path());
        assertEquals(64, config.data().seqLen());
        assertEquals(0.02, config.train().lr());
        assertEquals("llama", config.model().family());
        assertEquals(4, config.train().averagingFrequency()); // default
    }

    @Test
    void unknownKeysAreNamed(@TempDir Path dir) throws IOException {
        ConfigException override = assertThrows(ConfigException.class,
                () -> SftConfig.load(null, List.of("data.path=/x", "train.lrr=1")));
        assertTrue(override.getMessage().startsWith("unknown key train.lrr"), override.getMessage());
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, "data:\n  path: /x\n  sequence_length: 64\n");
        ConfigException inFile = assertThrows(ConfigException.class, () -> SftConfig.load(file, List.of()));
        assertTrue(inFile.getMessage().contains("unknown key data.sequence_length"), inFile.getMessage());
        ConfigException section = assertThrows(ConfigException.class,
                () -> SftConfig.load(null, List.of("nonsense.key=1")));
        assertTrue(section.getMessage().contains("nonsense.key"), section.getMessage());
    }

    @Test
    void badValuesNameTheKey() {
        ConfigException lr = assertThrows(ConfigException.class,
                () -> SftConfig.load(null, List.of("data.path=/x", "train.lr=-1")));
        assertTrue(lr.getMessage().contains("train.lr must be > 0, got -1.0"), lr.getMessage());
        ConfigException format = assertThrows(ConfigException.class,
                () -> SftConfig.load(null, List.of("data.path=/x", "data.format=csv")));
        assertTrue(format.getMessage().contains("data.format must be one of"), format.getMessage());
        ConfigException type = assertThrows(ConfigException.class,
                () -> SftConfig.load(null, List.of("data.path=/x", "train.rounds=many")));
        assertTrue(type.getMessage().contains("train.rounds"), type.getMessage());
        ConfigException missing = assertThrows(ConfigException.class, () -> SftConfig.load(null, List.of()));
        assertTrue(missing.getMessage().contains("data.path must be set"), missing.getMessage());
    }

    @Test
    void resolvedConfigReadsBackToTheSameRecord() {
        SftConfig config = SftConfig.load(null, List.of("data.path=/x", "train.rounds=7"));
        SftConfig again = ConfigLoader.bind(ConfigLoader.resolvedTree(config), SftConfig.class);
        assertEquals(config, again);
    }

    @Test
    void shippedExampleConfigIsValidAndSetsEveryKeyItDocuments() {
        Path example = Path.of(System.getProperty("user.dir")).resolve("../conf/sft.yaml").normalize();
        SftConfig config = SftConfig.load(example, List.of());
        assertEquals("gsm8k", config.data().format());
        assertEquals("llama", config.model().family());
    }

    @Test
    void shippedRlConfigsAreValid() {
        Path conf = Path.of(System.getProperty("user.dir")).resolve("../conf").normalize();
        io.whetstone.jobs.config.RlConfig grpo = io.whetstone.jobs.config.RlConfig.load(conf.resolve("grpo.yaml"),
                List.of());
        assertEquals("grpo", grpo.algorithm().name());
        assertEquals(3, grpo.rewards().components().size());
        io.whetstone.jobs.config.RlConfig ppo = io.whetstone.jobs.config.RlConfig.load(conf.resolve("ppo.yaml"),
                List.of());
        assertEquals("ppo", ppo.algorithm().name());
        assertEquals(6.0, ppo.algorithm().klTarget());
    }

    @Test
    void shippedDistillationConfigsAreValid() {
        Path conf = Path.of(System.getProperty("user.dir")).resolve("../conf").normalize();
        SftConfig distill = SftConfig.load(conf.resolve("distill.yaml"), List.of());
        assertEquals("forward_kl", distill.distill().divergence());
        assertEquals(true, distill.distill().enabled());
        SftConfig sft = SftConfig.load(conf.resolve("sft.yaml"), List.of());
        assertEquals(false, sft.distill().enabled());
        io.whetstone.jobs.config.DistillDataConfig data = io.whetstone.jobs.config.DistillDataConfig.load(
                conf.resolve("distill-data.yaml"), List.of());
        assertEquals("gsm8k", data.filter().verifier().get("type"));
        assertEquals(4, data.sampling().samplesPerPrompt());
    }

    @Test
    void shippedPreferenceConfigsAreValid() {
        Path conf = Path.of(System.getProperty("user.dir")).resolve("../conf").normalize();
        DpoConfig dpo = DpoConfig.load(conf.resolve("dpo.yaml"), List.of());
        assertEquals("sigmoid", dpo.preference().loss());
        assertEquals(0.1, dpo.preference().beta());
        assertEquals(dpo.model().init(), dpo.referencePath());
        DpoConfig kto = DpoConfig.load(conf.resolve("dpo.yaml"), List.of("preference.loss=kto", "data.format=unpaired"));
        assertEquals(true, kto.preference().usesReference());
        DpoConfig reward = DpoConfig.load(conf.resolve("reward-model.yaml"), List.of());
        assertEquals(true, reward.preference().rewardModel());
        assertEquals(false, reward.preference().usesReference());
        io.whetstone.jobs.config.TtsConfig tts = io.whetstone.jobs.config.TtsConfig.load(conf.resolve("tts.yaml"),
                List.of());
        assertEquals(List.of(1, 2, 4, 8, 16), tts.budget().values());
        assertThrows(ConfigException.class, () -> io.whetstone.jobs.config.TtsConfig.load(conf.resolve("tts.yaml"),
                List.of("strategies=[best_of_n_rm]")), "best_of_n_rm needs a reward model");
        assertEquals("\n", io.whetstone.jobs.config.PrmDataConfig.load(conf.resolve("prm-data.yaml"), List.of())
                .steps().delimiter());
        assertEquals("soft", io.whetstone.jobs.config.PrmConfig.load(conf.resolve("prm.yaml"), List.of()).data().labels());
        PreferenceDataConfig data = PreferenceDataConfig.load(conf.resolve("preference-data.yaml"), List.of());
        assertEquals("best_worst", data.pairs().mode());
        assertEquals("gsm8k", data.scoring().components().get(0).get("type"));
        ConfigException unknown = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> DpoConfig.load(conf.resolve("dpo.yaml"), List.of("preference.betta=0.2")));
        org.junit.jupiter.api.Assertions.assertTrue(unknown.getMessage().contains("preference.betta"),
                unknown.getMessage());
    }

    @Test
    void columnMapsBindFromFilesAndOverrides(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("sft.yaml");
        Files.writeString(file, "data:\n  path: /corpus\n  columns: {prompt: problem}\n");
        assertEquals(java.util.Map.of("prompt", "problem"), SftConfig.load(file, List.of()).data().columns());
        assertEquals(java.util.Map.of("prompt", "q", "completion", "a"), SftConfig.load(file,
                List.of("data.columns={prompt: q, completion: a}")).data().columns());
        assertEquals(java.util.Map.of("question", "problem_text"), RlConfig.load(null, List.of("data.path=/p", "model.init=/m",
                "data.columns={question: problem_text}")).data().columns());
        assertEquals(java.util.Map.of(), DpoConfig.load(null, List.of("data.path=/p", "model.init=/m")).data().columns());
    }
}
