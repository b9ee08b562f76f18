package io.whetstone.datasets.spark;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A held-out split of a corpus taken by each record's content: a record is held out when the SHA-256 of its text
 * (trimmed) falls in the first {@code fraction} of the hash range. The same record is on the same side in every
 * run, on every cluster, whatever the files' order or names, and duplicates of a record are on one side, so the
 * held-out part never holds a training record's copy. {@link #NONE} keeps every record.
 *
 * @param fraction the share held out, in [0, 0.5]; 0 is no split
 * @param heldOut which side this corpus is: true the held-out records, false the rest
 */
public record HeldOutSplit(double fraction, boolean heldOut) implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Every record. */
    public static final HeldOutSplit NONE = new HeldOutSplit(0, false);

    public HeldOutSplit {
        if (!(fraction >= 0 && fraction <= 0.5)) {
            throw new IllegalArgumentException("a held-out fraction must be in [0, 0.5], got " + fraction);
        }
    }

    /** Whether this is a split at all. */
    public boolean active() {
        return fraction > 0;
    }

    /** Whether the record with text {@code json} is on this corpus's side. */
    public boolean keeps(String json) {
        return !active() || isHeldOut(json, fraction) == heldOut;
    }

    /** Whether {@code json} is held out at {@code fraction}: the first 8 bytes of its SHA-256, as a fraction. */
    static boolean isHeldOut(String json, double fraction) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(json.strip().getBytes(StandardCharsets.UTF_8));
            long top = 0;
            for (int i = 0; i < 8; i++) {
                top = (top << 8) | (digest[i] & 0xff);
            }
            double position = (top >>> 11) * 0x1.0p-53; // uniform in [0, 1)
            return position < fraction;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** For cache keys and logs. */
    @Override
    public String toString() {
        return active() ? (heldOut ? "heldout" : "train") + "@" + fraction : "all";
    }
}
