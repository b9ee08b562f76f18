/** The Spark session of a job and the settings whetstone applies to it. */
package io.whetstone.jobs.spark;
