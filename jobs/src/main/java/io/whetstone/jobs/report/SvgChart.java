package io.whetstone.jobs.report;

import java.util.List;
import java.util.Locale;

/**
 * A small line chart as inline SVG: one or more series over a shared x axis (round or iteration), with the y
 * range, the x range and a legend written on it. Hand-written because the report must open without network
 * access or scripts, and a dozen lines of SVG per chart is all it needs.
 */
final class SvgChart {

    /** One line: its label and points (x, y); NaN values are gaps. */
    record Series(String label, double[] x, double[] y) {
    }

    static final int WIDTH = 340;
    static final int HEIGHT = 190;
    private static final int LEFT = 58;
    private static final int RIGHT = 10;
    private static final int TOP = 26;
    private static final int BOTTOM = 34;
    private static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

    private SvgChart() {
    }

    /** The chart of {@code series} titled {@code title}, x axis labelled {@code xLabel}. */
    static String render(String title, String xLabel, List<Series> series) {
        double xMin = Double.POSITIVE_INFINITY;
        double xMax = Double.NEGATIVE_INFINITY;
        double yMin = Double.POSITIVE_INFINITY;
        double yMax = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                if (Double.isFinite(s.y()[i]) && Double.isFinite(s.x()[i])) {
                    xMin = Math.min(xMin, s.x()[i]);
                    xMax = Math.max(xMax, s.x()[i]);
                    yMin = Math.min(yMin, s.y()[i]);
                    yMax = Math.max(yMax, s.y()[i]);
                }
            }
        }
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                + "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">", WIDTH, HEIGHT, WIDTH, HEIGHT,
                Html.escape(title)));
        svg.append("<title>").append(Html.escape(title)).append("</title>");
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"16\" class=\"ct\">%s</text>", LEFT,
                Html.escape(title)));
        int plotW = WIDTH - LEFT - RIGHT;
        int plotH = HEIGHT - TOP - BOTTOM;
        svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"frame\"/>",
                LEFT, TOP, plotW, plotH));
        if (!Double.isFinite(xMin)) {
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" class=\"ax\">no finite values</text>",
                    LEFT + 8, TOP + plotH / 2));
            return svg.append("</svg>").toString();
        }
        if (yMax == yMin) {
            double pad = yMax == 0 ? 1 : Math.abs(yMax) * 0.05;
            yMin -= pad;
            yMax += pad;
        }
        if (xMax == xMin) {
            xMin -= 1;
            xMax += 1;
        }
        svg.append(label(LEFT - 4, TOP + 8, "end", Html.number(yMax)));
        svg.append(label(LEFT - 4, TOP + plotH, "end", Html.number(yMin)));
        svg.append(label(LEFT, HEIGHT - BOTTOM + 14, "start", Html.number(xMin)));
        svg.append(label(LEFT + plotW, HEIGHT - BOTTOM + 14, "end", Html.number(xMax)));
        svg.append(label(LEFT + plotW / 2, HEIGHT - 4, "middle", xLabel));
        for (int k = 0; k < series.size(); k++) {
            Series s = series.get(k);
            String colour = COLOURS[k % COLOURS.length];
            StringBuilder points = new StringBuilder();
            int count = 0;
            for (int i = 0; i < s.x().length; i++) {
                if (!Double.isFinite(s.y()[i]) || !Double.isFinite(s.x()[i])) {
                    continue;
                }
                double px = LEFT + (s.x()[i] - xMin) / (xMax - xMin) * plotW;
                double py = TOP + plotH - (s.y()[i] - yMin) / (yMax - yMin) * plotH;
                points.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
                count++;
            }
            if (count == 1) {
                String[] xy = points.toString().trim().split(",");
                svg.append(String.format(Locale.ROOT, "<circle cx=\"%s\" cy=\"%s\" r=\"3\" fill=\"%s\"/>", xy[0],
                        xy[1], colour));
            } else {
                svg.append("<polyline fill=\"none\" stroke=\"").append(colour).append("\" stroke-width=\"1.5\" points=\"")
                        .append(points.toString().trim()).append("\"/>");
            }
            if (series.size() > 1) {
                svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" class=\"lg\" fill=\"%s\">%s</text>",
                        LEFT + 6, TOP + 12 + 12 * k, colour, Html.escape(s.label())));
            }
        }
        return svg.append("</svg>").toString();
    }

    private static String label(int x, int y, String anchor, String text) {
        return String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\" class=\"ax\">%s</text>", x, y,
                anchor, Html.escape(text));
    }
}
