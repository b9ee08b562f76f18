package io.whetstone.datasets.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The tokens of one tag and a cursor over them, with Jinja's expression grammar, by precedence: conditional,
 * {@code or}, {@code and}, {@code not}, comparisons, {@code + -}, {@code ~}, {@code * / // %}, {@code **}, unary
 * minus, then postfix (attribute, item, slice, call), filters and tests, which bind tightest
 * ({@code messages|length - 1} is {@code (messages|length) - 1}). {@link Parser} reads statements with it.
 */
final class ExpressionParser {

    private final List<Token> tokens;
    private int position;

    ExpressionParser(List<Token> tokens) {
        this.tokens = tokens;
    }


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

    Expr orExpression() {
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


    Token peek() {
        return tokens.get(position);
    }

    Token peekAt(int offset) {
        return tokens.get(Math.min(position + offset, tokens.size() - 1));
    }

    Token next() {
        Token token = tokens.get(position);
        if (token.kind() != Token.Kind.END) {
            position++;
        }
        return token;
    }

    String name() {
        Token token = next();
        if (token.kind() != Token.Kind.NAME) {
            throw new JinjaException(token.line(), "expected a name, got '" + token.text() + "'");
        }
        return token.text();
    }

    void expectName(String expected) {
        Token token = next();
        if (!token.isName(expected)) {
            throw new JinjaException(token.line(), "expected '" + expected + "', got '" + token.text() + "'");
        }
    }

    void expectOperator(String expected) {
        Token token = next();
        if (!token.isOperator(expected)) {
            throw new JinjaException(token.line(), "expected '" + expected + "', got "
                    + (token.kind() == Token.Kind.END ? "end of tag" : "'" + token.text() + "'"));
        }
    }

    void expectEnd() {
        Token token = peek();
        if (token.kind() != Token.Kind.END) {
            throw new JinjaException(token.line(), "unexpected '" + token.text() + "' before the end of the tag");
        }
    }
}
