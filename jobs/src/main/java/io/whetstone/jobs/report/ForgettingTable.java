package io.whetstone.jobs.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/** The report's Forgetting table. */
final class ForgettingTable {

    private ForgettingTable() {
    }

    /**
     * The pipeline's forgetting measurements ({@code pipeline.json}): each trained model's loss per token on each
     * held-out corpus, next to the loss of the model it started from.
     */
    static void append(StringBuilder html, JsonNode pipeline) {
        if (pipeline == null) {
            return;
        }
        StringBuilder rows = new StringBuilder();
        for (JsonNode line : pipeline.path("stages")) {
            line.path("forgetting").fields().forEachRemaining(corpus -> {
                JsonNode m = corpus.getValue();
                if (!m.has("loss")) {
                    return;
                }
                boolean before = m.has("initial_loss");
                double change = before ? (m.path("loss").asDouble() - m.path("initial_loss").asDouble())
                        / m.path("initial_loss").asDouble() : Double.NaN;
                rows.append("<tr><td>").append(Html.escape(line.path("name").asText())).append("</td><td>")
                        .append(Html.escape(corpus.getKey())).append("</td><td>")
                        .append(before ? Html.escape(m.path("initial_model").asText()) : "(from scratch)")
                        .append("</td><td>").append(before ? Html.number(m.path("initial_loss").asDouble()) : "")
                        .append("</td><td>").append(Html.number(m.path("loss").asDouble())).append("</td><td>")
                        .append(before ? String.format(Locale.ROOT, "%+.1f%%", 100 * change) : "")
                        .append("</td></tr>");
            });
        }
        if (rows.length() > 0) {
            html.append("<h2>Forgetting</h2><p class=\"meta\">Loss per token on the pipeline's held-out corpora, "
                    + "of each trained model and of the model it started from.</p><table><tr><th>stage</th>"
                    + "<th>corpus</th><th>started from</th><th>loss before</th><th>loss after</th><th>change</th></tr>")
                    .append(rows).append("</table>");
        }
    }
}
