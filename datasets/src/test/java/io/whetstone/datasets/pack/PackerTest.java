package io.whetstone.datasets.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.whetstone.datasets.tokenize.TokenizedExample;
import java.util.List;
import org.junit.jupiter.api.Test;

class PackerTest {

    private static TokenizedExample example(int first, int length, int trainedFrom) {
        int[] ids = new int[length];
        boolean[] trained = new boolean[length];
        for (int i = 0; i < length; i++) {
            ids[i] = first + i;
            trained[i] = i >= trainedFrom;
        }
        return new TokenizedExample("f", first, ids, trained);
    }

    @Test
    void packsWholeExamplesAndPadsTheRest() {
        Packer packer = new Packer(7, 99, true); // rows of 8 ids
        List<PackedSequence> rows = packer.pack(List.of(example(10, 3, 1), example(20, 4, 2), example(30, 5, 1)));
        assertEquals(2, rows.size());
        assertArrayEquals(new int[] {10, 11, 12, 20, 21, 22, 23, 99}, rows.get(0).ids());
        assertArrayEquals(new boolean[] {false, true, true, false, false, true, true, false}, rows.get(0).targetMask());
        assertEquals(2, rows.get(0).examples());
        assertArrayEquals(new int[] {30, 31, 32, 33, 34, 99, 99, 99}, rows.get(1).ids());
    }

    @Test
    void withoutPackingEachExampleHasItsRow() {
        List<PackedSequence> rows = new Packer(7, 0, false).pack(List.of(example(1, 2, 1), example(5, 2, 1)));
        assertEquals(2, rows.size());
    }

    @Test
    void batchesShiftTargetsAndMaskPadding() {
        List<PackedSequence> rows = new Packer(4, 9, true).pack(List.of(example(1, 3, 1)));
        Batches.Flat flat = Batches.flatten(rows);
        assertArrayEquals(new int[] {1, 2, 3, 9}, flat.tokens());
        assertArrayEquals(new int[] {2, 3, -1, -1}, flat.targets());
        assertArrayEquals(new float[] {1, 1, 0, 0}, flat.mask());
    }

    @Test
    void tooLongExampleIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> new Packer(3, 0, true).pack(List.of(example(1, 5, 0))));
    }
}
