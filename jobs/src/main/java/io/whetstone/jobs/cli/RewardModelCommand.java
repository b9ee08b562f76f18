package io.whetstone.jobs.cli;

import io.whetstone.jobs.config.DpoConfig;
import io.whetstone.jobs.preference.DpoJob;
import io.whetstone.jobs.preference.DpoResult;
import io.whetstone.jobs.spark.SparkRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code whetstone reward-model}: a Bradley-Terry reward model on preference pairs. */
@Command(name = "reward-model", mixinStandardHelpOptions = true,
        description = {"A Bradley-Terry reward model from a causal LM on preference pairs.",
                "%nThe loss (optional per-pair margin) is on a scalar score head read after each completion's "
                        + "last token. Writes <run.dir>/reward_model in Hugging Face's sequence-classification "
                        + "layout (score.weight), which RL and preference-data use as a reward (type: model). "
                        + "Settings: conf/reward-model.yaml (the dpo job's keys with preference.loss=bradley_terry). "
                        + "Prints the reward model's directory on the last line."})
public final class RewardModelCommand implements Callable<Integer> {

    @Option(names = "--config", description = "YAML config (see conf/reward-model.yaml)")
    Path config;

    @Parameters(paramLabel = "key=value", description = "overrides, e.g. data.path=hdfs:///prefs train.rounds=40")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        List<String> settings = new ArrayList<>(List.of("preference.loss=bradley_terry"));
        settings.addAll(overrides);
        DpoConfig reward = DpoConfig.load(config, settings);
        if (!reward.preference().rewardModel()) {
            throw new IllegalArgumentException("reward-model trains with preference.loss=bradley_terry, got "
                    + reward.preference().loss() + " (use the dpo command for a policy)");
        }
        SparkSession spark = SparkRuntime.session("whetstone reward-model");
        DpoResult result = new DpoJob(spark, reward).run();
        System.out.println(result.rewardModel());
        return 0;
    }
}
