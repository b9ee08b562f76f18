package io.whetstone.datasets.tasks;

import java.util.ArrayList;
import java.util.List;

/**
 * Reasoning steps of a solution: a step ends with {@code delimiter} (kept with the step, so the steps concatenate
 * back to the text); text after the last delimiter is the last step. For the built-in task the delimiter is
 * {@code ". "} (each carry line, then the {@code #### answer}); for GSM8K-style solutions a newline.
 */
public final class Steps {

    private Steps() {
    }

    /** The steps of {@code text}; empty steps (a delimiter right after another) are not made. */
    public static List<String> split(String text, String delimiter) {
        if (delimiter.isEmpty()) {
            throw new IllegalArgumentException("the step delimiter must not be empty");
        }
        List<String> steps = new ArrayList<>();
        int from = 0;
        while (from < text.length()) {
            int end = text.indexOf(delimiter, from);
            int to = end < 0 ? text.length() : end + delimiter.length();
            if (!text.substring(from, to).isBlank()) {
                steps.add(text.substring(from, to));
            } else if (!steps.isEmpty()) {
                steps.set(steps.size() - 1, steps.get(steps.size() - 1) + text.substring(from, to));
            }
            from = to;
        }
        return steps;
    }

    /**
     * True step labels of a deterministic procedure (the built-in task has exactly one right solution): step k is
     * right when steps 1..k equal the reference solution's first k steps (ignoring surrounding space), so a step
     * after the first mistake is never right. Returns one label per step of {@code steps}.
     */
    public static boolean[] againstReference(List<String> steps, List<String> reference) {
        boolean[] labels = new boolean[steps.size()];
        boolean onTrack = true;
        for (int k = 0; k < steps.size(); k++) {
            onTrack = onTrack && k < reference.size() && steps.get(k).trim().equals(reference.get(k).trim());
            labels[k] = onTrack;
        }
        return labels;
    }

    /** The index of the first wrong step, or -1 when every step is right. */
    public static int firstError(boolean[] labels) {
        for (int k = 0; k < labels.length; k++) {
            if (!labels[k]) {
                return k;
            }
        }
        return -1;
    }
}
