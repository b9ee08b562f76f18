package io.whetstone.datasets.jinja;

import java.util.List;
import java.util.Map;

/** The expressions of a parsed template; each knows its template line for error messages. */
sealed interface Expr {

    int line();

    record Literal(Object value, int line) implements Expr {
    }

    record Name(String name, int line) implements Expr {
    }

    record ListLiteral(List<Expr> items, int line) implements Expr {
    }

    record TupleLiteral(List<Expr> items, int line) implements Expr {
    }

    record DictLiteral(List<Expr> keys, List<Expr> values, int line) implements Expr {
    }

    /** {@code target.name}: Python attribute first, then item. */
    record Attribute(Expr target, String name, int line) implements Expr {
    }

    /** {@code target[key]}: item first, then attribute. */
    record Item(Expr target, Expr key, int line) implements Expr {
    }

    /** {@code target[start:stop:step]}, any part may be null. */
    record Slice(Expr target, Expr start, Expr stop, Expr step, int line) implements Expr {
    }

    record Call(Expr function, List<Expr> arguments, Map<String, Expr> keywords, int line) implements Expr {
    }

    record Filter(Expr value, String name, List<Expr> arguments, Map<String, Expr> keywords, int line)
            implements Expr {
    }

    record Test(Expr value, String name, List<Expr> arguments, boolean negated, int line) implements Expr {
    }

    record Unary(String operator, Expr operand, int line) implements Expr {
    }

    /** Arithmetic, {@code ~}, {@code and}, {@code or}. */
    record Binary(String operator, Expr left, Expr right, int line) implements Expr {
    }

    /** A comparison chain {@code a < b <= c}; operators include {@code in} and {@code not in}. */
    record Compare(Expr first, List<String> operators, List<Expr> rest, int line) implements Expr {
    }

    /** {@code then if condition else otherwise}; {@code otherwise} may be null (undefined). */
    record Conditional(Expr condition, Expr then, Expr otherwise, int line) implements Expr {
    }
}
