package io.whetstone.jobs.sft;

import io.whetstone.datasets.spark.CorpusStats;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.train.TrainingState;

/**
 * What an SFT run produced.
 *
 * @param runDir the run directory
 * @param checkpoint the final checkpoint directory
 * @param config the model's shape
 * @param state final trainable parameters (the adapters with LoRA) and optimiser state
 * @param modelParams the full model's final parameters (with LoRA: base and adapters merged)
 * @param tokenizer the tokenizer trained with
 * @param corpus what preparing the corpus found
 * @param roundsRun rounds run in this invocation (fewer than configured after a resume)
 * @param firstLoss loss of the first round run here
 * @param lastLoss loss of the last round
 * @param meanAveragingSeconds mean per-round time outside the slowest partition's compute
 * @param meanRoundSeconds mean round wall time
 * @param bytesPerRound bytes broadcast plus returned per round
 * @param tokensTrained tokens in the batches of the rounds run here
 */
public record SftResult(String runDir, String checkpoint, ModelConfig config, TrainingState state, float[] modelParams,
                        Tokenizer tokenizer,
                        CorpusStats corpus, int roundsRun, double firstLoss, double lastLoss,
                        double meanAveragingSeconds, double meanRoundSeconds, long bytesPerRound,
                        long tokensTrained) {
}
