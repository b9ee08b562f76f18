package io.whetstone.datasets.tasks;

import java.io.Serializable;

/**
 * A question with a reference solution and its final answer.
 *
 * @param id stable identifier within the task
 * @param question the question text
 * @param solution the step-by-step reference solution ending in {@code #### answer}
 * @param answer the final answer the verifier compares with
 */
public record TaskExample(String id, String question, String solution, String answer) implements Serializable {

    private static final long serialVersionUID = 1L;
}
