package io.whetstone.jobs.pipeline;

import io.whetstone.jobs.config.ConfigException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The order stages run in: each after the stages it names in {@code after} and in its placeholders (a trained
 * model's also after the stages its pipeline's {@code forgetting} corpora name), otherwise in the file's order. A reference to a stage that does not exist, or a cycle, is an error naming the stages.
 */
public final class StageOrder {

    private StageOrder() {
    }

    /** The stages each stage waits for. */
    public static Map<String, Set<String>> dependencies(PipelineSpec spec) {
        Map<String, Set<String>> deps = new LinkedHashMap<>();
        Set<String> names = new LinkedHashSet<>();
        spec.stages().forEach(stage -> names.add(stage.name()));
        for (StageSpec stage : spec.stages()) {
            Set<String> mine = new LinkedHashSet<>(stage.after());
            List<String> texts = new ArrayList<>(stage.args());
            texts.addAll(stage.set().values());
            texts.forEach(text -> mine.addAll(Placeholders.stagesIn(text)));
            for (String name : mine) {
                if (!names.contains(name)) {
                    throw new ConfigException(spec.file() + ": stage '" + stage.name() + "' refers to stage '" + name
                            + "', which the pipeline does not have (stages: " + String.join(", ", names) + ")");
                }
                if (name.equals(stage.name())) {
                    throw new ConfigException(spec.file() + ": stage '" + stage.name() + "' refers to its own "
                            + "outputs; use ${stage.dir} for its directory");
                }
            }
            deps.put(stage.name(), mine);
        }
        return deps;
    }

    /**
     * The stages each stage waits for, with the stages that write its {@code forgetting} corpora: its model is
     * measured on them right after it runs. Those only order the stages; they are not its inputs (a changed corpus
     * is measured again, without training the model again).
     */
    static Map<String, Set<String>> waits(PipelineSpec spec) {
        Map<String, Set<String>> waits = dependencies(spec);
        if (spec.forgetting() == null) {
            return waits;
        }
        Set<String> corpusStages = new LinkedHashSet<>();
        spec.forgetting().corpora().values().forEach(corpus -> corpusStages.addAll(Placeholders.stagesIn(corpus.path())));
        for (String name : corpusStages) {
            if (!waits.containsKey(name)) {
                throw new ConfigException(spec.file() + ": forgetting: a corpus refers to stage '" + name
                        + "', which the pipeline does not have (stages: " + String.join(", ", waits.keySet()) + ")");
            }
        }
        for (StageSpec stage : spec.stages()) {
            if (ForgettingSpec.MEASURED.contains(stage.command())) {
                Set<String> mine = new LinkedHashSet<>(waits.get(stage.name()));
                mine.addAll(corpusStages);
                mine.remove(stage.name());
                waits.put(stage.name(), mine);
            }
        }
        return waits;
    }

    /** The stages in an order that puts each after what it waits for, keeping the file's order otherwise. */
    public static List<StageSpec> order(PipelineSpec spec) {
        Map<String, Set<String>> deps = waits(spec);
        List<StageSpec> ordered = new ArrayList<>();
        Set<String> done = new LinkedHashSet<>();
        List<StageSpec> waiting = new ArrayList<>(spec.stages());
        while (!waiting.isEmpty()) {
            StageSpec next = waiting.stream().filter(stage -> done.containsAll(deps.get(stage.name()))).findFirst()
                    .orElseThrow(() -> new ConfigException(spec.file() + ": the stages " + waiting.stream()
                            .map(StageSpec::name).toList() + " wait for each other (a cycle)"));
            waiting.remove(next);
            done.add(next.name());
            ordered.add(next);
        }
        return ordered;
    }
}
