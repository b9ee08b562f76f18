package io.whetstone.models.generate;

import io.whetstone.models.engine.ForwardPass;
import io.whetstone.models.engine.Transformer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Greedy decoding by full forward passes, without a cache: each step runs the model over a fixed
 * window [B, W] holding every prompt left-aligned, and reads the logits at each row's last position
 * (causal attention makes the padding after it irrelevant). Simple and exact; the plain reference for
 * faster decoders.
 */
public final class GreedyDecoder {

    private final Transformer model;

    public GreedyDecoder(Transformer model) {
        this.model = model;
    }

    /**
     * The greedy continuation of each prompt (without the prompt), at most {@code maxNewTokens} ids,
     * ending after the first id in {@code stopIds} (which is kept). Rows that would pass the model's
     * maximum length stop there.
     */
    public List<int[]> generate(List<int[]> prompts, int maxNewTokens, int[] stopIds) {
        if (prompts.isEmpty()) {
            return List.of();
        }
        int longest = prompts.stream().mapToInt(p -> p.length).max().orElse(0);
        if (longest == 0) {
            throw new IllegalArgumentException("prompts must not be empty");
        }
        int window = Math.min(model.config().maxSeqLen(), longest + maxNewTokens);
        if (longest > window) {
            throw new IllegalArgumentException("a prompt of " + longest + " tokens exceeds max_seq_len "
                    + model.config().maxSeqLen());
        }
        int batch = prompts.size();
        int[] tokens = new int[batch * window];
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(prompts.get(b), 0, tokens, b * window, prompts.get(b).length);
            lengths[b] = prompts.get(b).length;
        }
        int[] targets = new int[batch * window];
        Arrays.fill(targets, -1);
        List<List<Integer>> outputs = new ArrayList<>();
        boolean[] done = new boolean[batch];
        for (int b = 0; b < batch; b++) {
            outputs.add(new ArrayList<>());
        }
        for (int step = 0; step < maxNewTokens; step++) {
            ForwardPass pass = model.forward(tokens, targets, batch, window);
            boolean anyActive = false;
            for (int b = 0; b < batch; b++) {
                if (done[b]) {
                    continue;
                }
                INDArray row = pass.logits().getRow((long) b * window + lengths[b] - 1);
                int next = row.argMax().getInt(0);
                outputs.get(b).add(next);
                if (contains(stopIds, next) || lengths[b] == window) {
                    done[b] = true;
                    continue;
                }
                tokens[b * window + lengths[b]] = next;
                lengths[b]++;
                anyActive = true;
            }
            if (!anyActive) {
                break;
            }
        }
        List<int[]> result = new ArrayList<>(batch);
        for (List<Integer> output : outputs) {
            result.add(output.stream().mapToInt(Integer::intValue).toArray());
        }
        return result;
    }

    private static boolean contains(int[] values, int value) {
        for (int v : values) {
            if (v == value) {
                return true;
            }
        }
        return false;
    }
}
