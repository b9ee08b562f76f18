package io.whetstone.jobs.preference;

import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.models.ModelConfig;

/**
 * The token whose LM-head row a reward model (outcome or process) scores with: the configured one, else the
 * tokenizer's pad token, else its end token; checked to be in the model's vocabulary.
 */
public final class ScoreToken {

    private ScoreToken() {
    }

    /** {@code configured} (negative: the default) for {@code model}; {@code key} names the setting in errors. */
    public static int resolve(int configured, Tokenizer tokenizer, ModelConfig model, String key) {
        int token = configured;
        if (token < 0) {
            try {
                token = tokenizer.padId();
            } catch (IllegalArgumentException noPad) {
                token = tokenizer.eosId();
            }
        }
        if (token >= model.vocabSize()) {
            throw new IllegalArgumentException(key + " " + token + " is outside the model's vocabulary of "
                    + model.vocabSize());
        }
        return token;
    }
}
