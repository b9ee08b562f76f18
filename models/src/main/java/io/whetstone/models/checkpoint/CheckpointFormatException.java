package io.whetstone.models.checkpoint;

/** A checkpoint file is malformed, truncated or inconsistent; the message names the file and what is wrong. */
public final class CheckpointFormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public CheckpointFormatException(String message) {
        super(message);
    }

    public CheckpointFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
