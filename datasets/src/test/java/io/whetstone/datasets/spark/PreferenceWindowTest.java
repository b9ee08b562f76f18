package io.whetstone.datasets.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.whetstone.datasets.pack.PreferenceRow;
import io.whetstone.datasets.records.ChatTemplateSpec;
import io.whetstone.datasets.records.ParsedPreference;
import io.whetstone.datasets.records.PreferenceFormat;
import io.whetstone.datasets.records.PreferenceParser;
import io.whetstone.datasets.tokenize.ByteTokenizer;
import org.junit.jupiter.api.Test;

/** A pair's tokens and loss masks: whole completions, or a window past their first difference; over-long input. */
class PreferenceWindowTest {

    private static final String LINE = "{\"prompt\": \"1+4=\", \"chosen\": \" 5. done\", \"rejected\": \" 6. done\"}";

    private static PreferencePreparer.Outcome tokenize(String line, int seqLen, CorpusSpec.Truncation truncation,
                                                       int window) {
        ParsedPreference parsed = new PreferenceParser(PreferenceFormat.PAIRED, new ChatTemplateSpec())
                .parseJson("p.jsonl", 3, line);
        return PreferencePreparer.tokenize(parsed, "p.jsonl", 3, line, new ByteTokenizer(), seqLen, truncation, window);
    }

    @Test
    void aWindowKeepsTheLossOnTheTokensWhereThePairPartsWays() {
        PreferenceRow whole = tokenize(LINE, 20, CorpusSpec.Truncation.ERROR, 0).unit().row();
        // BOS + "1+4=" (4) + " 5. done" (8) + EOS: 8 completion bytes and EOS are trained
        assertEquals(9, whole.chosen().trainableTokens());
        assertEquals(9, whole.rejected().trainableTokens());
        PreferenceRow windowed = tokenize(LINE, 20, CorpusSpec.Truncation.ERROR, 2).unit().row();
        int first = PreferencePreparer.firstDifference(whole.chosen(), whole.rejected());
        assertEquals(6, first); // BOS, 4 prompt bytes, the space: the digit is id 6
        // the shared space and the window of two (the digit and the period) stay
        assertEquals(3, windowed.chosen().trainableTokens());
        assertEquals(3, windowed.rejected().trainableTokens());
        assertArrayEquals(whole.chosen().ids(), windowed.chosen().ids());
        assertTrue(windowed.chosen().targetMask()[6] && windowed.chosen().targetMask()[7]
                && !windowed.chosen().targetMask()[8]);
    }

    @Test
    void overLongPairsAreErrorsOrCutTogether() {
        PreferencePreparer.Outcome error = tokenize(LINE, 10, CorpusSpec.Truncation.ERROR, 0);
        assertNull(error.unit());
        assertEquals("chosen", error.error().field());
        assertTrue(error.error().reason().contains("over seq_len + 1 = 11"), error.error().describe());
        PreferencePreparer.Outcome cut = tokenize(LINE, 10, CorpusSpec.Truncation.TRUNCATE, 0);
        assertTrue(cut.unit().truncated());
        assertEquals(6, cut.unit().row().chosen().trainableTokens());
        PreferencePreparer.Outcome full = tokenize(LINE, 4, CorpusSpec.Truncation.TRUNCATE, 0);
        assertTrue(full.error().reason().contains("leaves none of the chosen"), full.error().describe());
    }
}
