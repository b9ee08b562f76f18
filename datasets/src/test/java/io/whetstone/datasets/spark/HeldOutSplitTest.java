package io.whetstone.datasets.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The content-hash split: two sides that partition the records, the asked share held out, duplicates together. */
class HeldOutSplitTest {

    @Test
    void theSidesPartitionTheRecordsAtTheAskedShare() {
        HeldOutSplit train = new HeldOutSplit(0.1, false);
        HeldOutSplit heldOut = new HeldOutSplit(0.1, true);
        int held = 0;
        int n = 20_000;
        for (int i = 0; i < n; i++) {
            String record = "{\"prompt\": \"question " + i + "\", \"completion\": \"answer\"}";
            assertNotEquals(train.keeps(record), heldOut.keeps(record), record);
            assertEquals(heldOut.keeps(record), heldOut.keeps("  " + record + "\n"), "surrounding space is ignored");
            if (heldOut.keeps(record)) {
                held++;
            }
        }
        // binomial(20000, 0.1): sd 42; 5 sd either side
        assertTrue(Math.abs(held - 0.1 * n) < 5 * Math.sqrt(n * 0.1 * 0.9), "held out " + held);
        assertTrue(HeldOutSplit.NONE.keeps("anything"));
        assertThrows(IllegalArgumentException.class, () -> new HeldOutSplit(0.7, true));
    }

    @Test
    void aLargerFractionHoldsOutASuperset() {
        for (int i = 0; i < 2_000; i++) {
            String record = "record " + i;
            if (HeldOutSplit.isHeldOut(record, 0.05)) {
                assertTrue(HeldOutSplit.isHeldOut(record, 0.2), "growing the held-out share keeps what was held out");
            }
        }
    }
}
