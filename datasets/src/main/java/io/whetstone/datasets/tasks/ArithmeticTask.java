package io.whetstone.datasets.tasks;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

/**
 * The built-in verifiable reasoning task: column addition and subtraction of multi-digit numbers with
 * the carries (or borrows) written out, digit by digit from the right, ending in {@code #### answer}.
 * Example: question {@code What is 457 + 386?}, solution
 * {@code 7+6=13, write 3 carry 1. 5+8+1=14, write 4 carry 1. 4+3+1=8, write 8. #### 843}.
 *
 * <p>Generation is deterministic from a seed. Every problem belongs to exactly one split, decided by a
 * hash of the problem and the seed (10% test), so train and test never share a problem.
 */
public final class ArithmeticTask {

    /** Which problems to make. */
    public enum Split { TRAIN, TEST }

    private final int minDigits;
    private final int maxDigits;
    private final boolean subtraction;
    private final long seed;

    /**
     * @param minDigits fewest digits of an operand (>= 1)
     * @param maxDigits most digits of an operand (<= 9)
     * @param subtraction whether to include subtraction (a - b with a >= b)
     * @param seed fixes the split and the generated problems
     */
    public ArithmeticTask(int minDigits, int maxDigits, boolean subtraction, long seed) {
        if (minDigits < 1 || maxDigits > 9 || minDigits > maxDigits) {
            throw new IllegalArgumentException("need 1 <= min_digits <= max_digits <= 9, got " + minDigits + ", "
                    + maxDigits);
        }
        this.minDigits = minDigits;
        this.maxDigits = maxDigits;
        this.subtraction = subtraction;
        this.seed = seed;
    }

    /** {@code count} distinct problems of {@code split}. */
    public List<TaskExample> generate(Split split, int count) {
        Random random = new Random(seed * 31 + split.ordinal());
        List<TaskExample> examples = new ArrayList<>(count);
        Set<String> seen = new HashSet<>();
        int attempts = 0;
        while (examples.size() < count) {
            if (++attempts > count * 1000L + 10_000) {
                throw new IllegalArgumentException("cannot find " + count + " distinct " + split
                        + " problems with " + minDigits + "-" + maxDigits + " digits");
            }
            long a = operand(random);
            long b = operand(random);
            boolean minus = subtraction && random.nextBoolean();
            if (minus && a < b) {
                long swap = a;
                a = b;
                b = swap;
            }
            String key = a + (minus ? "-" : "+") + b;
            if (splitOf(key) != split || !seen.add(key)) {
                continue;
            }
            examples.add(minus ? subtract(key, a, b) : add(key, a, b));
        }
        return examples;
    }

    private long operand(Random random) {
        int digits = minDigits + random.nextInt(maxDigits - minDigits + 1);
        long low = digits == 1 ? 0 : (long) Math.pow(10, digits - 1);
        long high = (long) Math.pow(10, digits);
        return low + (long) (random.nextDouble() * (high - low));
    }

    private Split splitOf(String key) {
        long h = key.hashCode() * 0x9E3779B97F4A7C15L + seed;
        h ^= h >>> 29;
        return Math.floorMod(h, 10) == 0 ? Split.TEST : Split.TRAIN;
    }

    private static TaskExample add(String key, long a, long b) {
        StringBuilder steps = new StringBuilder();
        long x = a;
        long y = b;
        int carry = 0;
        while (x > 0 || y > 0 || carry > 0) {
            int dx = (int) (x % 10);
            int dy = (int) (y % 10);
            int sum = dx + dy + carry;
            if (steps.length() > 0) {
                steps.append(' ');
            }
            steps.append(dx).append('+').append(dy);
            if (carry > 0) {
                steps.append('+').append(carry);
            }
            steps.append('=').append(sum);
            x /= 10;
            y /= 10;
            carry = sum / 10;
            steps.append(", write ").append(sum % 10);
            steps.append(carry > 0 ? " carry 1." : ".");
            if (x == 0 && y == 0 && carry > 0) {
                steps.append(" write 1.");
                carry = 0;
            }
        }
        if (steps.length() == 0) {
            steps.append("0+0=0, write 0.");
        }
        String answer = Long.toString(a + b);
        return new TaskExample(key, "What is " + a + " + " + b + "?", steps + " #### " + answer, answer);
    }

    private static TaskExample subtract(String key, long a, long b) {
        StringBuilder steps = new StringBuilder();
        long x = a;
        long y = b;
        int borrow = 0;
        while (x > 0 || y > 0) {
            int dx = (int) (x % 10);
            int dy = (int) (y % 10);
            int top = dx - borrow;
            if (steps.length() > 0) {
                steps.append(' ');
            }
            if (top < dy) {
                steps.append(top + 10).append('-').append(dy).append('=').append(top + 10 - dy)
                        .append(", write ").append(top + 10 - dy).append(" borrow 1.");
                borrow = 1;
            } else {
                steps.append(top).append('-').append(dy).append('=').append(top - dy)
                        .append(", write ").append(top - dy).append('.');
                borrow = 0;
            }
            x /= 10;
            y /= 10;
        }
        if (steps.length() == 0) {
            steps.append("0-0=0, write 0.");
        }
        String answer = Long.toString(a - b);
        return new TaskExample(key, "What is " + a + " - " + b + "?", steps + " #### " + answer, answer);
    }

    /** The verifier: the completion's {@code ####} answer equals the reference exactly (after trimming). */
    public static Verifier verifier() {
        return (example, completion) -> {
            Optional<String> answer = FinalAnswer.marked(completion);
            return answer.isPresent() && answer.get().equals(example.answer());
        };
    }
}
