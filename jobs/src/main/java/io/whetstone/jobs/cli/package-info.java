/**
 * The command line: {@link io.whetstone.jobs.cli.Whetstone} and one class per subcommand. Commands
 * parse and validate their options, then hand over to the job classes; nothing here holds training logic.
 */
package io.whetstone.jobs.cli;
