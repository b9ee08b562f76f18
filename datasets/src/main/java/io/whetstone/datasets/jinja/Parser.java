package io.whetstone.datasets.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Recursive descent over the lexer's segments, with Jinja's precedence: conditional, {@code or},
 * {@code and}, {@code not}, comparisons, {@code + -}, {@code ~}, {@code * / // %}, {@code **}, unary
 * minus, then postfix (attribute, item, slice, call), filters and tests, which bind tightest
 * ({@code messages|length - 1} is {@code (messages|length) - 1}).
 */
final class Parser {

    private final List<Lexer.Segment> segments;
    private int segment;
    private List<Token> tokens;
    private int position;

    private Parser(List<Lexer.Segment> segments) {
        this.segments = segments;
    }

    static List<Node> parse(String source) {
        Parser parser = new Parser(Lexer.lex(source));
        List<Node> body = parser.body(Set.of());
        if (parser.segment < parser.segments.size()) {
            Lexer.Tag tag = (Lexer.Tag) parser.segments.get(parser.segment);
            throw new JinjaException(tag.line(), "unexpected '" + tag.tokens().get(0).text() + "'");
        }
        return body;
    }

    /** Nodes up to a statement whose keyword is in {@code terminators}, which is left unconsumed. */
    private List<Node> body(Set<String> terminators) {
        List<Node> nodes = new ArrayList<>();
        while (segment < segments.size()) {
            Lexer.Segment next = segments.get(segment);
            if (next instanceof Lexer.Text text) {
                nodes.add(new Node.Text(text.text()));
                segment++;
                continue;
            }
            Lexer.Tag tag = (Lexer.Tag) next;
            if (tag.kind() == Lexer.TagKind.OUTPUT) {
                enter(tag);
                Expr value = expression();
                expectEnd();
                nodes.add(new Node.Output(value, tag.line()));
                continue;
            }
            String keyword = tag.tokens().get(0).text();
            if (terminators.contains(keyword)) {
                return nodes;
            }
            enter(tag);
            nodes.add(statement(tag));
        }
        if (!terminators.isEmpty()) {
            throw new JinjaException(lastLine(), "missing " + String.join(" or ", terminators));
        }
        return nodes;
    }

    private void enter(Lexer.Tag tag) {
        tokens = tag.tokens();
        position = 0;
        segment++;
    }

    private int lastLine() {
        for (int i = segments.size() - 1; i >= 0; i--) {
            if (segments.get(i) instanceof Lexer.Tag tag) {
                return tag.line();
            }
        }
        return 1;
    }

    private Node statement(Lexer.Tag tag) {
        Token keyword = next();
        if (keyword.kind() != Token.Kind.NAME) {
            throw new JinjaException(keyword.line(), "expected a statement name, got '" + keyword.text() + "'");
        }
        return switch (keyword.text()) {
            case "if" -> ifStatement();
            case "for" -> forStatement(tag.line());
            case "set" -> setStatement(tag.line());
            case "macro" -> macroStatement();
            case "generation" -> {
                expectEnd();
                List<Node> body = body(Set.of("endgeneration"));
                closeBlock("endgeneration");
                yield new Node.Generation(body);
            }
            case "break" -> {
                expectEnd();
                yield new Node.Break(tag.line());
            }
            case "continue" -> {
                expectEnd();
                yield new Node.Continue(tag.line());
            }
            default -> throw new JinjaException(tag.line(), "unsupported statement '" + keyword.text() + "'");
        };
    }

    private Node ifStatement() {
        List<Node.Branch> branches = new ArrayList<>();
        Expr condition = expression();
        expectEnd();
        while (true) {
            List<Node> body = body(Set.of("elif", "else", "endif"));
            branches.add(new Node.Branch(condition, body));
            Lexer.Tag tag = (Lexer.Tag) segments.get(segment);
            enter(tag);
            String keyword = next().text();
            if (keyword.equals("elif")) {
                condition = expression();
                expectEnd();
            } else if (keyword.equals("else")) {
                expectEnd();
                List<Node> otherwise = body(Set.of("endif"));
                closeBlock("endif");
                return new Node.If(branches, otherwise);
            } else {
                expectEnd();
                return new Node.If(branches, List.of());
            }
        }
    }

    private Node forStatement(int line) {
        List<String> targets = new ArrayList<>();
        targets.add(name());
        while (peek().isOperator(",")) {
            next();
            targets.add(name());
        }
        expectName("in");
        Expr iterable = orExpression(); // not expression(): a trailing "if" filters the loop
        Expr filter = null;
        if (peek().isName("if")) {
            next();
            filter = expression();
        }
        if (peek().isName("recursive")) {
            throw new JinjaException(line, "recursive loops are not supported");
        }
        expectEnd();
        List<Node> body = body(Set.of("else", "endfor"));
        Lexer.Tag tag = (Lexer.Tag) segments.get(segment);
        enter(tag);
        List<Node> otherwise = List.of();
        if (next().text().equals("else")) {
            expectEnd();
            otherwise = body(Set.of("endfor"));
            closeBlock("endfor");
        } else {
            expectEnd();
        }
        return new Node.For(targets, iterable, filter, body, otherwise, line);
    }

    private Node setStatement(int line) {
        List<String> targets = new ArrayList<>();
        targets.add(name());
        String attribute = null;
        if (peek().isOperator(".")) {
            next();
            attribute = name();
        }
        while (peek().isOperator(",")) {
            next();
            targets.add(name());
        }
        if (peek().kind() == Token.Kind.END && targets.size() == 1 && attribute == null) {
            expectEnd();
            List<Node> body = body(Set.of("endset"));
            closeBlock("endset");
            return new Node.SetBlock(targets.get(0), body);
        }
        expectOperator("=");
        Expr value = expression();
        if (peek().isOperator(",")) { // set a, b = x, y
            List<Expr> items = new ArrayList<>(List.of(value));
            while (peek().isOperator(",")) {
                next();
                items.add(expression());
            }
            value = new Expr.ListLiteral(items, line);
        }
        expectEnd();
        return new Node.Set(targets, attribute, value, line);
    }

    private Node macroStatement() {
        String name = name();
        List<String> parameters = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        expectOperator("(");
        while (!peek().isOperator(")")) {
            parameters.add(name());
            if (peek().isOperator("=")) {
                next();
                defaults.add(expression());
            } else {
                defaults.add(null);
            }
            if (!peek().isOperator(")")) {
                expectOperator(",");
            }
        }
        next();
        expectEnd();
        List<Node> body = body(Set.of("endmacro"));
        closeBlock("endmacro");
        return new Node.Macro(name, parameters, defaults, body);
    }

    private void closeBlock(String keyword) {
        enter((Lexer.Tag) segments.get(segment));
        expectName(keyword);
        expectEnd();
    }

    // ---- expressions ----

    Expr expression() {
        Expr value = orExpression();
        while (peek().isName("if")) {
            int line = next().line();
            Expr condition = orExpression();
            Expr otherwise = null;
            if (peek().isName("else")) {
                next();
                otherwise = expression();
            }
            value = new Expr.Conditional(condition, value, otherwise, line);
        }
        return value;
    }

    private Expr orExpression() {
        Expr left = andExpression();
        while (peek().isName("or")) {
            int line = next().line();
            left = new Expr.Binary("or", left, andExpression(), line);
        }
        return left;
    }

    private Expr andExpression() {
        Expr left = notExpression();
        while (peek().isName("and")) {
            int line = next().line();
            left = new Expr.Binary("and", left, notExpression(), line);
        }
        return left;
    }

    private Expr notExpression() {
        if (peek().isName("not")) {
            int line = next().line();
            return new Expr.Unary("not", notExpression(), line);
        }
        return comparison();
    }

    private static final Set<String> COMPARISONS = Set.of("==", "!=", "<", ">", "<=", ">=");

    private Expr comparison() {
        Expr first = additive();
        List<String> operators = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token token = peek();
            if (token.kind() == Token.Kind.OPERATOR && COMPARISONS.contains(token.text())) {
                next();
                operators.add(token.text());
            } else if (token.isName("in")) {
                next();
                operators.add("in");
            } else if (token.isName("not") && peekAt(1).isName("in")) {
                next();
                next();
                operators.add("not in");
            } else {
                break;
            }
            rest.add(additive());
        }
        return operators.isEmpty() ? first : new Expr.Compare(first, operators, rest, first.line());
    }

    private Expr additive() {
        Expr left = concatenation();
        while (peek().isOperator("+") || peek().isOperator("-")) {
            Token operator = next();
            left = new Expr.Binary(operator.text(), left, concatenation(), operator.line());
        }
        return left;
    }

    private Expr concatenation() {
        Expr left = multiplicative();
        while (peek().isOperator("~")) {
            int line = next().line();
            left = new Expr.Binary("~", left, multiplicative(), line);
        }
        return left;
    }

    private Expr multiplicative() {
        Expr left = power();
        while (peek().isOperator("*") || peek().isOperator("/") || peek().isOperator("//")
                || peek().isOperator("%")) {
            Token operator = next();
            left = new Expr.Binary(operator.text(), left, power(), operator.line());
        }
        return left;
    }

    private Expr power() {
        Expr left = unary();
        while (peek().isOperator("**")) {
            int line = next().line();
            left = new Expr.Binary("**", left, unary(), line);
        }
        return left;
    }

    private Expr unary() {
        if (peek().isOperator("-") || peek().isOperator("+")) {
            Token operator = next();
            return filtersAndTests(new Expr.Unary(operator.text(), unary(), operator.line()));
        }
        return filtersAndTests(postfix(primary()));
    }

    private Expr filtersAndTests(Expr value) {
        while (true) {
            if (peek().isOperator("|")) {
                int line = next().line();
                String name = name();
                List<Expr> arguments = new ArrayList<>();
                Map<String, Expr> keywords = new LinkedHashMap<>();
                if (peek().isOperator("(")) {
                    next();
                    arguments(arguments, keywords);
                }
                value = new Expr.Filter(value, name, arguments, keywords, line);
            } else if (peek().isName("is")) {
                int line = next().line();
                boolean negated = false;
                if (peek().isName("not")) {
                    next();
                    negated = true;
                }
                String name = name();
                List<Expr> arguments = new ArrayList<>();
                if (peek().isOperator("(")) {
                    next();
                    arguments(arguments, new LinkedHashMap<>());
                } else if (startsTestArgument(peek())) {
                    arguments.add(postfix(primary())); // "is equalto 'x'", "is divisibleby 3"
                }
                value = new Expr.Test(value, name, arguments, negated, line);
            } else {
                return value;
            }
        }
    }

    private static final Set<String> NOT_ARGUMENTS = Set.of("and", "or", "else", "if", "is", "in", "not");

    private static boolean startsTestArgument(Token token) {
        return switch (token.kind()) {
            case STRING, INTEGER, FLOAT -> true;
            case NAME -> !NOT_ARGUMENTS.contains(token.text());
            default -> token.isOperator("[") || token.isOperator("{");
        };
    }

    private Expr postfix(Expr value) {
        while (true) {
            Token token = peek();
            if (token.isOperator(".")) {
                next();
                Token attribute = next();
                if (attribute.kind() == Token.Kind.INTEGER) {
                    value = new Expr.Item(value, new Expr.Literal(Long.parseLong(attribute.text()), token.line()),
                            token.line());
                } else {
                    value = new Expr.Attribute(value, attribute.text(), token.line());
                }
            } else if (token.isOperator("[")) {
                next();
                value = subscript(value, token.line());
            } else if (token.isOperator("(")) {
                next();
                List<Expr> arguments = new ArrayList<>();
                Map<String, Expr> keywords = new LinkedHashMap<>();
                arguments(arguments, keywords);
                value = new Expr.Call(value, arguments, keywords, token.line());
            } else {
                return value;
            }
        }
    }

    private Expr subscript(Expr target, int line) {
        Expr[] parts = new Expr[3];
        int part = 0;
        boolean slice = false;
        while (!peek().isOperator("]")) {
            if (peek().isOperator(":")) {
                next();
                slice = true;
                part++;
                if (part > 2) {
                    throw new JinjaException(line, "a slice has at most three parts");
                }
            } else {
                parts[part] = expression();
            }
        }
        next();
        if (!slice) {
            if (parts[0] == null) {
                throw new JinjaException(line, "empty subscript []");
            }
            return new Expr.Item(target, parts[0], line);
        }
        return new Expr.Slice(target, parts[0], parts[1], parts[2], line);
    }

    /** Reads call arguments after the opening parenthesis, through the closing one. */
    private void arguments(List<Expr> arguments, Map<String, Expr> keywords) {
        while (!peek().isOperator(")")) {
            if (peek().kind() == Token.Kind.NAME && peekAt(1).isOperator("=")) {
                String name = next().text();
                next();
                keywords.put(name, expression());
            } else {
                arguments.add(expression());
            }
            if (!peek().isOperator(")")) {
                expectOperator(",");
            }
        }
        next();
    }

    private Expr primary() {
        Token token = next();
        int line = token.line();
        switch (token.kind()) {
            case STRING: {
                StringBuilder joined = new StringBuilder(token.text()); // adjacent literals concatenate
                while (peek().kind() == Token.Kind.STRING) {
                    joined.append(next().text());
                }
                return new Expr.Literal(joined.toString(), line);
            }
            case INTEGER:
                return new Expr.Literal(Long.parseLong(token.text()), line);
            case FLOAT:
                return new Expr.Literal(Double.parseDouble(token.text()), line);
            case NAME:
                return switch (token.text()) {
                    case "true", "True" -> new Expr.Literal(Boolean.TRUE, line);
                    case "false", "False" -> new Expr.Literal(Boolean.FALSE, line);
                    case "none", "None" -> new Expr.Literal(null, line);
                    default -> new Expr.Name(token.text(), line);
                };
            case OPERATOR:
                if (token.text().equals("(")) {
                    if (peek().isOperator(")")) {
                        next();
                        return new Expr.TupleLiteral(List.of(), line);
                    }
                    Expr inner = expression();
                    if (peek().isOperator(",")) { // a tuple
                        List<Expr> items = new ArrayList<>(List.of(inner));
                        while (peek().isOperator(",")) {
                            next();
                            if (peek().isOperator(")")) {
                                break;
                            }
                            items.add(expression());
                        }
                        inner = new Expr.TupleLiteral(items, line);
                    }
                    expectOperator(")");
                    return inner;
                }
                if (token.text().equals("[")) {
                    List<Expr> items = new ArrayList<>();
                    while (!peek().isOperator("]")) {
                        items.add(expression());
                        if (!peek().isOperator("]")) {
                            expectOperator(",");
                        }
                    }
                    next();
                    return new Expr.ListLiteral(items, line);
                }
                if (token.text().equals("{")) {
                    List<Expr> keys = new ArrayList<>();
                    List<Expr> values = new ArrayList<>();
                    while (!peek().isOperator("}")) {
                        keys.add(expression());
                        expectOperator(":");
                        values.add(expression());
                        if (!peek().isOperator("}")) {
                            expectOperator(",");
                        }
                    }
                    next();
                    return new Expr.DictLiteral(keys, values, line);
                }
                break;
            default:
                break;
        }
        throw new JinjaException(line, "unexpected " + (token.kind() == Token.Kind.END ? "end of tag"
                : "'" + token.text() + "'"));
    }

    // ---- token helpers ----

    private Token peek() {
        return tokens.get(position);
    }

    private Token peekAt(int offset) {
        return tokens.get(Math.min(position + offset, tokens.size() - 1));
    }

    private Token next() {
        Token token = tokens.get(position);
        if (token.kind() != Token.Kind.END) {
            position++;
        }
        return token;
    }

    private String name() {
        Token token = next();
        if (token.kind() != Token.Kind.NAME) {
            throw new JinjaException(token.line(), "expected a name, got '" + token.text() + "'");
        }
        return token.text();
    }

    private void expectName(String expected) {
        Token token = next();
        if (!token.isName(expected)) {
            throw new JinjaException(token.line(), "expected '" + expected + "', got '" + token.text() + "'");
        }
    }

    private void expectOperator(String expected) {
        Token token = next();
        if (!token.isOperator(expected)) {
            throw new JinjaException(token.line(), "expected '" + expected + "', got "
                    + (token.kind() == Token.Kind.END ? "end of tag" : "'" + token.text() + "'"));
        }
    }

    private void expectEnd() {
        Token token = peek();
        if (token.kind() != Token.Kind.END) {
            throw new JinjaException(token.line(), "unexpected '" + token.text() + "' before the end of the tag");
        }
    }
}
