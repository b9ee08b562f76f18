package io.whetstone.jobs.report;

/** The report's number format, for tests elsewhere that look for the numbers it wrote. */
public final class RunReportTestAccess {

    private RunReportTestAccess() {
    }

    public static String number(double value) {
        return Html.number(value);
    }
}
