package io.whetstone.models.train;

import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.objectives.Objective;
import io.whetstone.models.objectives.ObjectiveResult;
import io.whetstone.models.optim.Optimizer;
import io.whetstone.models.optim.LrSchedule;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One optimiser step over one or more micro-batches on one worker: gradients of all micro-batches are
 * accumulated with one shared normaliser (the masked tokens of the whole step), then AdamW applies.
 */
public final class Trainer {

    private final Transformer model;
    private final Objective objective;
    private final Optimizer optimizer;
    private final LrSchedule schedule;

    public Trainer(Transformer model, Objective objective, Optimizer optimizer, LrSchedule schedule) {
        this.model = model;
        this.objective = objective;
        this.optimizer = optimizer;
        this.schedule = schedule;
    }

    /** The outcome of a step. */
    public record StepStats(long step, double loss, long tokens, double maskedTokens, double gradNorm,
                            double learningRate, Map<String, Double> metrics) {
    }

    /** The summed loss of accumulated micro-batches and their objective's metric sums. */
    public record Accumulated(double loss, Map<String, Double> metrics) {
    }

    /** Zeroes gradients and accumulates those of {@code microBatches}; returns the summed loss. */
    public double accumulate(List<TokenBatch> microBatches, double normalizer) {
        return accumulateWithMetrics(microBatches, normalizer).loss();
    }

    /** As {@link #accumulate}, keeping the objective's metric sums over the micro-batches. */
    public Accumulated accumulateWithMetrics(List<TokenBatch> microBatches, double normalizer) {
        model.trainableParameters().zeroGrads();
        Map<String, Double> metrics = new TreeMap<>();
        double loss = 0;
        int micro = 0;
        for (TokenBatch batch : microBatches) {
            // Adapter dropout is a function of (optimiser step, micro-batch): retries and resumes repeat it.
            model.setDropoutSeed((optimizer.step() + 1) * 4099L + micro++);
            ForwardPass pass = model.forward(batch.tokens(), batch.targets(), batch.batch(), batch.seqLen());
            ObjectiveResult result = objective.evaluate(pass, batch, normalizer);
            model.backward(result.dLogProbs(), result.dLogits(), result.dHidden());
            loss += result.loss();
            result.metrics().forEach((name, value) -> metrics.merge(name, value, Double::sum));
        }
        model.setDropoutSeed(null);
        return new Accumulated(loss, metrics);
    }

    /** What {@link #accumulateSum} leaves: the summed loss, the objective's normaliser units and its metric sums. */
    public record Summed(double loss, double normalizer, Map<String, Double> metrics) {
    }

    /**
     * Zeroes gradients and accumulates the gradient of the unnormalised loss (normaliser 1: the token-summed
     * loss for SFT, the pair-summed loss for preferences) of {@code microBatches}, for drivers that sum
     * gradients across workers and normalise once. Returns the summed loss and the normaliser units counted.
     */
    public Summed accumulateSum(List<TokenBatch> microBatches) {
        double normalizer = 0;
        for (TokenBatch batch : microBatches) {
            normalizer += objective.defaultNormalizer(batch);
        }
        Accumulated accumulated = accumulateWithMetrics(microBatches, 1.0);
        return new Summed(accumulated.loss(), normalizer, accumulated.metrics());
    }

    /** One full step: accumulate, then update with the scheduled rate. */
    public StepStats step(List<TokenBatch> microBatches) {
        double normalizer = 0;
        long tokens = 0;
        for (TokenBatch batch : microBatches) {
            normalizer += objective.defaultNormalizer(batch);
            tokens += batch.size();
        }
        Accumulated accumulated = accumulateWithMetrics(microBatches, normalizer);
        Optimizer.Update update = optimizer.apply(schedule.rate(optimizer.step() + 1));
        return new StepStats(update.step(), accumulated.loss(), tokens, normalizer, update.gradNorm(),
                update.learningRate(), accumulated.metrics());
    }

    public Transformer model() {
        return model;
    }

    public Optimizer optimizer() {
        return optimizer;
    }
}
