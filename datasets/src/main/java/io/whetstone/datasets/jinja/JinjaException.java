package io.whetstone.datasets.jinja;

/** A template that cannot be parsed or rendered; the message names the template line. */
public class JinjaException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int line;

    public JinjaException(int line, String message) {
        super("template line " + line + ": " + message);
        this.line = line;
    }

    /** The template line (1-based) where the problem is. */
    public int line() {
        return line;
    }

    /** Raised by the template itself, through {@code raise_exception(message)}: the input is what it refuses. */
    public static final class Raised extends JinjaException {

        private static final long serialVersionUID = 1L;

        private final String reason;

        public Raised(int line, String reason) {
            super(line, "the template refuses the input: " + reason);
            this.reason = reason;
        }

        /** The template's own message. */
        public String reason() {
            return reason;
        }
    }
}
