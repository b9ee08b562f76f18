/** The supervised fine-tuning job: corpus preparation, rounds of distributed training, checkpoints, metrics. */
package io.whetstone.jobs.sft;
