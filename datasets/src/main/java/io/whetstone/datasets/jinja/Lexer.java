package io.whetstone.datasets.jinja;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a template into text and tags, applying Jinja's whitespace control as Hugging Face configures it
 * ({@code trim_blocks} and {@code lstrip_blocks} on): a {@code -} inside a delimiter strips all whitespace on
 * that side; a block or comment tag drops the one newline after it and the indentation before it when only
 * spaces precede it on its line; a {@code +} turns those two off for its side.
 */
final class Lexer {

    /** Text between tags, or a tag with its tokens (a comment has none and is dropped after whitespace control). */
    sealed interface Segment {
    }

    record Text(String text) implements Segment {
    }

    record Tag(TagKind kind, List<Token> tokens, int line) implements Segment {
    }

    enum TagKind { OUTPUT, STATEMENT, COMMENT }

    /** A tag as lexed, before whitespace control is applied to its neighbours. */
    private record RawTag(TagKind kind, List<Token> tokens, int line, char before, char after) {
    }

    private final String source;
    private int position;
    private int line = 1;

    private Lexer(String source) {
        this.source = source;
    }

    /**
     * Segments of {@code source}, read as Jinja reads it: line endings normalised to {@code \n} and one trailing
     * newline dropped ({@code keep_trailing_newline} is off in transformers' environment).
     */
    static List<Segment> lex(String source) {
        String normalised = source.replace("\r\n", "\n").replace('\r', '\n');
        if (normalised.endsWith("\n")) {
            normalised = normalised.substring(0, normalised.length() - 1);
        }
        return new Lexer(normalised).run();
    }

    private List<Segment> run() {
        List<Object> raw = new ArrayList<>(); // String or RawTag, alternating as they come
        while (position < source.length()) {
            int start = nextTagStart(position);
            if (start < 0) {
                raw.add(advanceTo(source.length()));
                break;
            }
            raw.add(advanceTo(start));
            raw.add(readTag());
        }
        return applyWhitespaceControl(raw);
    }

    private int nextTagStart(int from) {
        int index = source.indexOf('{', from);
        while (index >= 0 && index + 1 < source.length()) {
            char next = source.charAt(index + 1);
            if (next == '{' || next == '%' || next == '#') {
                return index;
            }
            index = source.indexOf('{', index + 1);
        }
        return -1;
    }

    private String advanceTo(int end) {
        String text = source.substring(position, end);
        line += count(text, '\n');
        position = end;
        return text;
    }

    private RawTag readTag() {
        int tagLine = line;
        char opener = source.charAt(position + 1);
        TagKind kind = opener == '{' ? TagKind.OUTPUT : opener == '%' ? TagKind.STATEMENT : TagKind.COMMENT;
        position += 2;
        char before = modifier(position);
        if (before != 0) {
            position++;
        }
        if (kind == TagKind.COMMENT) {
            int end = source.indexOf("#}", position);
            if (end < 0) {
                throw new JinjaException(tagLine, "comment {# is never closed");
            }
            char after = end > position && (source.charAt(end - 1) == '-' || source.charAt(end - 1) == '+')
                    ? source.charAt(end - 1) : 0;
            advanceTo(end + 2);
            return new RawTag(kind, List.of(), tagLine, before, after);
        }
        String closer = kind == TagKind.OUTPUT ? "}}" : "%}";
        List<Token> tokens = new ArrayList<>();
        while (true) {
            skipWhitespace();
            if (position >= source.length()) {
                throw new JinjaException(tagLine, "tag is never closed with " + closer);
            }
            char after = modifier(position);
            if (after != 0 && source.startsWith(closer, position + 1)) {
                position += 3;
                tokens.add(new Token(Token.Kind.END, "", line));
                return new RawTag(kind, tokens, tagLine, before, after);
            }
            if (source.startsWith(closer, position)) {
                position += 2;
                tokens.add(new Token(Token.Kind.END, "", line));
                return new RawTag(kind, tokens, tagLine, before, (char) 0);
            }
            tokens.add(readToken());
        }
    }

    private char modifier(int at) {
        if (at < source.length() && (source.charAt(at) == '-' || source.charAt(at) == '+')) {
            return source.charAt(at);
        }
        return 0;
    }

    private void skipWhitespace() {
        while (position < source.length() && Character.isWhitespace(source.charAt(position))) {
            if (source.charAt(position) == '\n') {
                line++;
            }
            position++;
        }
    }

    private static final String[] OPERATORS = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~",
        "<", ">", "=", "(", ")", "[", "]", "{", "}", ".", ",", ":", "|"};

    private Token readToken() {
        char c = source.charAt(position);
        if (c == '\'' || c == '"') {
            return readString(c);
        }
        if (Character.isDigit(c)) {
            int start = position;
            while (position < source.length() && (Character.isDigit(source.charAt(position))
                    || source.charAt(position) == '_')) {
                position++;
            }
            boolean fraction = position + 1 < source.length() && source.charAt(position) == '.'
                    && Character.isDigit(source.charAt(position + 1));
            if (fraction) {
                position++;
                while (position < source.length() && Character.isDigit(source.charAt(position))) {
                    position++;
                }
            }
            String number = source.substring(start, position).replace("_", "");
            return new Token(fraction ? Token.Kind.FLOAT : Token.Kind.INTEGER, number, line);
        }
        if (Character.isLetter(c) || c == '_') {
            int start = position;
            while (position < source.length() && (Character.isLetterOrDigit(source.charAt(position))
                    || source.charAt(position) == '_')) {
                position++;
            }
            return new Token(Token.Kind.NAME, source.substring(start, position), line);
        }
        for (String operator : OPERATORS) {
            if (source.startsWith(operator, position)) {
                position += operator.length();
                return new Token(Token.Kind.OPERATOR, operator, line);
            }
        }
        throw new JinjaException(line, "unexpected character '" + c + "'");
    }

    private Token readString(char quote) {
        int tokenLine = line;
        StringBuilder value = new StringBuilder();
        position++;
        while (true) {
            if (position >= source.length()) {
                throw new JinjaException(tokenLine, "string literal is never closed");
            }
            char c = source.charAt(position++);
            if (c == quote) {
                return new Token(Token.Kind.STRING, value.toString(), tokenLine);
            }
            if (c == '\n') {
                line++;
            }
            if (c != '\\') {
                value.append(c);
                continue;
            }
            char escaped = source.charAt(position++);
            switch (escaped) {
                case 'n' -> value.append('\n');
                case 't' -> value.append('\t');
                case 'r' -> value.append('\r');
                case 'b' -> value.append('\b');
                case 'f' -> value.append('\f');
                case '0' -> value.append('\0');
                case 'u' -> {
                    value.append((char) Integer.parseInt(source.substring(position, position + 4), 16));
                    position += 4;
                }
                case 'x' -> {
                    value.append((char) Integer.parseInt(source.substring(position, position + 2), 16));
                    position += 2;
                }
                case '\\', '\'', '"' -> value.append(escaped);
                case '\n' -> line++; // a backslash-newline joins lines, as in Python
                default -> value.append('\\').append(escaped); // Python keeps unknown escapes as written
            }
        }
    }

    /** Strips text around tags as the delimiters' modifiers and trim/lstrip_blocks say, then drops comments. */
    private static List<Segment> applyWhitespaceControl(List<Object> raw) {
        List<Segment> segments = new ArrayList<>();
        boolean lineStarting = true; // the text so far ends at the start of a line
        for (int i = 0; i < raw.size(); i++) {
            if (raw.get(i) instanceof RawTag tag) {
                if (tag.kind() != TagKind.COMMENT) {
                    segments.add(new Tag(tag.kind(), tag.tokens(), tag.line()));
                }
                continue;
            }
            String text = (String) raw.get(i);
            RawTag previous = i > 0 ? (RawTag) raw.get(i - 1) : null;
            RawTag next = i + 1 < raw.size() ? (RawTag) raw.get(i + 1) : null;
            if (previous != null) {
                boolean block = previous.kind() != TagKind.OUTPUT;
                if (previous.after() == '-') {
                    int keep = 0;
                    while (keep < text.length() && Character.isWhitespace(text.charAt(keep))) {
                        keep++;
                    }
                    lineStarting = keep > 0 && text.charAt(keep - 1) == '\n';
                    text = text.substring(keep);
                } else if (block && previous.after() != '+' && text.startsWith("\n")) {
                    text = text.substring(1);
                    lineStarting = true;
                } else {
                    lineStarting = false;
                }
            }
            if (next != null) {
                if (next.before() == '-') {
                    text = text.stripTrailing();
                } else if (next.kind() != TagKind.OUTPUT && next.before() != '+') {
                    int lineStart = text.lastIndexOf('\n') + 1;
                    if ((lineStart > 0 || lineStarting) && isBlank(text, lineStart)) {
                        text = text.substring(0, lineStart);
                    }
                }
            }
            if (!text.isEmpty()) {
                segments.add(new Text(text));
            }
        }
        return segments;
    }

    private static boolean isBlank(String text, int from) {
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != ' ' && c != '\t') {
                return false;
            }
        }
        return true;
    }

    private static int count(String text, char c) {
        int n = 0;
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) == c) {
                n++;
            }
        }
        return n;
    }
}
