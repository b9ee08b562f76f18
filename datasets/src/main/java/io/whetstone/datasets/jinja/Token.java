package io.whetstone.datasets.jinja;

/**
 * One token inside a tag.
 *
 * @param kind what it is
 * @param text the name or operator; for a string literal its decoded value
 * @param line template line
 */
record Token(Kind kind, String text, int line) {

    enum Kind { NAME, STRING, INTEGER, FLOAT, OPERATOR, END }

    boolean is(Kind expected, String value) {
        return kind == expected && text.equals(value);
    }

    boolean isOperator(String value) {
        return is(Kind.OPERATOR, value);
    }

    boolean isName(String value) {
        return is(Kind.NAME, value);
    }
}
