package io.whetstone.datasets.jinja;

import java.util.List;

/** The statements of a parsed template. */
sealed interface Node {

    record Text(String text) implements Node {
    }

    record Output(Expr value, int line) implements Node {
    }

    /** {@code if}/{@code elif} branches in order, then the {@code else} body (empty when absent). */
    record If(List<Branch> branches, List<Node> otherwise) implements Node {
    }

    record Branch(Expr condition, List<Node> body) {
    }

    /** {@code for a[, b] in iterable [if filter]} ... {@code [else]} ... {@code endfor}. */
    record For(List<String> targets, Expr iterable, Expr filter, List<Node> body, List<Node> otherwise, int line)
            implements Node {
    }

    /** {@code set name = value}, {@code set a, b = value} or {@code set namespace.attribute = value}. */
    record Set(List<String> targets, String attribute, Expr value, int line) implements Node {
    }

    /** {@code set name} ... {@code endset}: the rendered body becomes the value. */
    record SetBlock(String target, List<Node> body) implements Node {
    }

    /** Hugging Face's {@code generation} block: marks the assistant output it renders. */
    record Generation(List<Node> body) implements Node {
    }

    record Macro(String name, List<String> parameters, List<Expr> defaults, List<Node> body) implements Node {
    }

    record Break(int line) implements Node {
    }

    record Continue(int line) implements Node {
    }
}
