package io.whetstone.datasets.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Recursive descent over the lexer's segments into statements ({@code if}, {@code for}, {@code set},
 * {@code macro}, {@code generation}, loop controls); each tag's expressions are read by an
 * {@link ExpressionParser} over its tokens.
 */
final class Parser {

    private final List<Lexer.Segment> segments;
    private int segment;
    private ExpressionParser cursor; // the tokens of the tag being read

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
                Expr value = cursor.expression();
                cursor.expectEnd();
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

    private void enter(Lexer.Tag current) {
        cursor = new ExpressionParser(current.tokens());
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

    private Node statement(Lexer.Tag current) {
        Token keyword = cursor.next();
        if (keyword.kind() != Token.Kind.NAME) {
            throw new JinjaException(keyword.line(), "expected a statement name, got '" + keyword.text() + "'");
        }
        return switch (keyword.text()) {
            case "if" -> ifStatement();
            case "for" -> forStatement(current.line());
            case "set" -> setStatement(current.line());
            case "macro" -> macroStatement();
            case "generation" -> {
                cursor.expectEnd();
                List<Node> body = body(Set.of("endgeneration"));
                closeBlock("endgeneration");
                yield new Node.Generation(body);
            }
            case "break" -> {
                cursor.expectEnd();
                yield new Node.Break(current.line());
            }
            case "continue" -> {
                cursor.expectEnd();
                yield new Node.Continue(current.line());
            }
            default -> throw new JinjaException(current.line(), "unsupported statement '" + keyword.text() + "'");
        };
    }

    private Node ifStatement() {
        List<Node.Branch> branches = new ArrayList<>();
        Expr condition = cursor.expression();
        cursor.expectEnd();
        while (true) {
            List<Node> body = body(Set.of("elif", "else", "endif"));
            branches.add(new Node.Branch(condition, body));
            Lexer.Tag tag = (Lexer.Tag) segments.get(segment);
            enter(tag);
            String keyword = cursor.next().text();
            if (keyword.equals("elif")) {
                condition = cursor.expression();
                cursor.expectEnd();
            } else if (keyword.equals("else")) {
                cursor.expectEnd();
                List<Node> otherwise = body(Set.of("endif"));
                closeBlock("endif");
                return new Node.If(branches, otherwise);
            } else {
                cursor.expectEnd();
                return new Node.If(branches, List.of());
            }
        }
    }

    private Node forStatement(int line) {
        List<String> targets = new ArrayList<>();
        targets.add(cursor.name());
        while (cursor.peek().isOperator(",")) {
            cursor.next();
            targets.add(cursor.name());
        }
        cursor.expectName("in");
        Expr iterable = cursor.orExpression(); // not expression(): a trailing "if" filters the loop
        Expr filter = null;
        if (cursor.peek().isName("if")) {
            cursor.next();
            filter = cursor.expression();
        }
        if (cursor.peek().isName("recursive")) {
            throw new JinjaException(line, "recursive loops are not supported");
        }
        cursor.expectEnd();
        List<Node> body = body(Set.of("else", "endfor"));
        Lexer.Tag tag = (Lexer.Tag) segments.get(segment);
        enter(tag);
        List<Node> otherwise = List.of();
        if (cursor.next().text().equals("else")) {
            cursor.expectEnd();
            otherwise = body(Set.of("endfor"));
            closeBlock("endfor");
        } else {
            cursor.expectEnd();
        }
        return new Node.For(targets, iterable, filter, body, otherwise, line);
    }

    private Node setStatement(int line) {
        List<String> targets = new ArrayList<>();
        targets.add(cursor.name());
        String attribute = null;
        if (cursor.peek().isOperator(".")) {
            cursor.next();
            attribute = cursor.name();
        }
        while (cursor.peek().isOperator(",")) {
            cursor.next();
            targets.add(cursor.name());
        }
        if (cursor.peek().kind() == Token.Kind.END && targets.size() == 1 && attribute == null) {
            cursor.expectEnd();
            List<Node> body = body(Set.of("endset"));
            closeBlock("endset");
            return new Node.SetBlock(targets.get(0), body);
        }
        cursor.expectOperator("=");
        Expr value = cursor.expression();
        if (cursor.peek().isOperator(",")) { // set a, b = x, y
            List<Expr> items = new ArrayList<>(List.of(value));
            while (cursor.peek().isOperator(",")) {
                cursor.next();
                items.add(cursor.expression());
            }
            value = new Expr.ListLiteral(items, line);
        }
        cursor.expectEnd();
        return new Node.Set(targets, attribute, value, line);
    }

    private Node macroStatement() {
        String name = cursor.name();
        List<String> parameters = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        cursor.expectOperator("(");
        while (!cursor.peek().isOperator(")")) {
            parameters.add(cursor.name());
            if (cursor.peek().isOperator("=")) {
                cursor.next();
                defaults.add(cursor.expression());
            } else {
                defaults.add(null);
            }
            if (!cursor.peek().isOperator(")")) {
                cursor.expectOperator(",");
            }
        }
        cursor.next();
        cursor.expectEnd();
        List<Node> body = body(Set.of("endmacro"));
        closeBlock("endmacro");
        return new Node.Macro(name, parameters, defaults, body);
    }

    private void closeBlock(String keyword) {
        enter((Lexer.Tag) segments.get(segment));
        cursor.expectName(keyword);
        cursor.expectEnd();
    }
}
