package io.whetstone.jobs.tts;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The accuracy-versus-compute plot of a run as a standalone SVG: one line per strategy through its budgets
 * (x: mean generated tokens per question, log scale; y: accuracy), with 95% interval whiskers. Written by hand
 * rather than with a charting library: a few dozen lines of SVG text, no AWT (headless executors and drivers),
 * and any browser opens the file.
 */
final class AccuracyPlot {

    private static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    private static final int WIDTH = 760;
    private static final int HEIGHT = 480;
    private static final int LEFT = 70;
    private static final int RIGHT = 200;
    private static final int TOP = 40;
    private static final int BOTTOM = 60;

    private AccuracyPlot() {
    }

    static String svg(List<TtsJob.Summary> summary, String title) {
        Map<String, List<TtsJob.Summary>> lines = new LinkedHashMap<>();
        double minX = Double.POSITIVE_INFINITY;
        double maxX = 0;
        for (TtsJob.Summary s : summary) {
            if (Double.isNaN(s.accuracy()) || s.tokensPerQuestion() <= 0) {
                continue;
            }
            lines.computeIfAbsent(s.strategy(), k -> new ArrayList<>()).add(s);
            minX = Math.min(minX, s.tokensPerQuestion());
            maxX = Math.max(maxX, s.tokensPerQuestion());
        }
        if (lines.isEmpty()) {
            minX = 1;
            maxX = 10;
        }
        double logMin = Math.floor(Math.log10(minX) * 2) / 2;
        double logMax = Math.ceil(Math.log10(maxX) * 2) / 2;
        if (logMax <= logMin) {
            logMax = logMin + 0.5;
        }
        double plotW = WIDTH - LEFT - RIGHT;
        double plotH = HEIGHT - TOP - BOTTOM;
        double lo = logMin;
        double hi = logMax;
        java.util.function.DoubleUnaryOperator x = t -> LEFT + (Math.log10(t) - lo) / (hi - lo) * plotW;
        java.util.function.DoubleUnaryOperator y = a -> TOP + (1 - a) * plotH;
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, HEIGHT));
        out.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, HEIGHT));
        out.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"24\" font-size=\"15\">%s</text>%n", LEFT,
                escape(title)));
        for (int i = 0; i <= 10; i++) {
            double a = i / 10.0;
            out.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>%n", LEFT, LEFT + plotW, y.applyAsDouble(a),
                    y.applyAsDouble(a), LEFT - 6, y.applyAsDouble(a) + 4, i * 10));
        }
        for (double e = logMin; e <= logMax + 1e-9; e += 0.5) {
            double t = Math.pow(10, e);
            out.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>"
                    + "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>%n", x.applyAsDouble(t),
                    x.applyAsDouble(t), TOP, TOP + plotH, x.applyAsDouble(t), TOP + plotH + 18, label(t)));
        }
        out.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                + "stroke=\"#333\"/>%n", LEFT, TOP, plotW, plotH));
        out.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">generated tokens per "
                + "question (log scale)</text>%n", LEFT + plotW / 2, HEIGHT - 16));
        out.append(String.format(Locale.ROOT, "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" "
                + "transform=\"rotate(-90 18 %.1f)\">accuracy</text>%n", TOP + plotH / 2, TOP + plotH / 2));
        int index = 0;
        for (Map.Entry<String, List<TtsJob.Summary>> line : lines.entrySet()) {
            String colour = COLOURS[index % COLOURS.length];
            StringBuilder points = new StringBuilder();
            for (TtsJob.Summary s : line.getValue()) {
                double px = x.applyAsDouble(s.tokensPerQuestion());
                points.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, y.applyAsDouble(s.accuracy())));
                out.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                        + "stroke=\"%s\" stroke-opacity=\"0.5\"/>%n", px, px, y.applyAsDouble(s.ci95().low()),
                        y.applyAsDouble(s.ci95().high()), colour));
                out.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>%s "
                        + "budget %d: %.1f%%, %.0f tokens</title></circle>%n", px, y.applyAsDouble(s.accuracy()), colour,
                        escape(s.strategy()), s.budget(), 100 * s.accuracy(), s.tokensPerQuestion()));
            }
            out.append(String.format(Locale.ROOT, "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" "
                    + "stroke-width=\"2\"/>%n", points.toString().trim(), colour));
            int ly = TOP + 10 + index * 20;
            out.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" "
                    + "stroke-width=\"2\"/><text x=\"%.1f\" y=\"%d\">%s</text>%n", LEFT + plotW + 14, LEFT + plotW + 34,
                    ly, ly, colour, LEFT + plotW + 40, ly + 4, escape(line.getKey())));
            index++;
        }
        out.append("</svg>\n");
        return out.toString();
    }

    private static String label(double tokens) {
        return tokens >= 1000 ? String.format(Locale.ROOT, "%.0fk", tokens / 1000)
                : String.format(Locale.ROOT, "%.0f", tokens);
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
