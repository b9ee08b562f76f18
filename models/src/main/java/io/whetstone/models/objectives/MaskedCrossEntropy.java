package io.whetstone.models.objectives;

import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.TokenBatch;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Next-token cross-entropy over the tokens the mask selects: loss = -sum(mask * logp) / normaliser,
 * by default the sum of the mask (the mean over counted tokens). Prompt tokens get mask 0 in SFT.
 */
public final class MaskedCrossEntropy implements Objective {

    @Override
    public ObjectiveResult evaluate(ForwardPass pass, TokenBatch batch, double normalizer) {
        if (!(normalizer > 0)) {
            throw new IllegalArgumentException("cross-entropy needs a positive normaliser (no masked tokens?): "
                    + normalizer);
        }
        INDArray mask = Nd4j.createFromArray(batch.lossMask()).castTo(pass.logProbs().dataType())
                .reshape(batch.batch(), batch.seqLen());
        double loss = -pass.logProbs().mul(mask).sumNumber().doubleValue() / normalizer;
        INDArray dLogProbs = mask.muli(-1.0 / normalizer);
        return new ObjectiveResult(loss, dLogProbs, null);
    }

    @Override
    public double defaultNormalizer(TokenBatch batch) {
        return batch.maskedTokens();
    }
}
