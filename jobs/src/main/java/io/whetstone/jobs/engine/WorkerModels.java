package io.whetstone.jobs.engine;

import io.whetstone.models.optim.OptimizerKind;
import io.whetstone.models.distill.DistillationObjective;
import io.whetstone.models.distill.ModelTeacher;
import io.whetstone.models.distill.Teacher;
import io.whetstone.models.distill.TeacherTargets;
import io.whetstone.models.engine.TokenBatch;
import io.whetstone.models.objectives.Objective;
import io.whetstone.models.engine.Transformer;
import io.whetstone.models.objectives.MaskedCrossEntropy;
import io.whetstone.models.optim.Optimizer;
import io.whetstone.models.preference.KtoObjective;
import io.whetstone.models.preference.PreferenceObjective;
import io.whetstone.models.preference.ReferenceLogProbs;
import io.whetstone.models.preference.RewardObjective;
import io.whetstone.models.preference.StepRewardObjective;
import io.whetstone.models.rl.ClippedPolicyLoss;
import io.whetstone.models.rl.PolicyObjective;
import io.whetstone.models.rl.ValueHead;
import io.whetstone.models.rl.ValueLoss;
import io.whetstone.models.train.Trainer;
import io.whetstone.models.train.TrainingState;
import java.util.Map;

/**
 * The trainer's bundles (model, optimiser, objective, and what the objective reads: a teacher, a reference's
 * log-probs, rollout targets), kept in the executor's {@link ModelPool} under their setup (the policy's role).
 * A task takes a bundle, overwrites its whole state from the broadcast, and gives it back; concurrent tasks
 * get different bundles.
 */
public final class WorkerModels {

    private WorkerModels() {
    }

    /**
     * A model, its optimiser and a trainer over them; the teacher its objective runs (or null), or the holder of
     * the current batch's precomputed top-k targets (or null).
     */
    public record Bundle(WorkerSetup setup, Transformer model, Optimizer optimizer, Trainer trainer, Transformer teacher,
                         BatchTeacher batchTeacher, Trainer onPolicyTrainer, BatchReference batchReference,
                         BatchRollouts batchRollouts) implements AutoCloseable {

        @Override
        public void close() {
            model.close();
            if (teacher != null) {
                teacher.close();
            }
        }
    }

    /**
     * What RL update rows carry for the policy objective: each of the step's batches' targets (keyed by the
     * batch itself) and the minibatch's normalisers, set before each step from the step's rows.
     */
    public static final class BatchRollouts implements PolicyObjective.Source {
        private final Map<TokenBatch, PolicyObjective.Targets> targets = new java.util.IdentityHashMap<>();
        private PolicyObjective.Normalizers normalizers;

        /** The next step's batches with their targets, and the normalisers of its minibatch. */
        public void set(Map<TokenBatch, PolicyObjective.Targets> batches, PolicyObjective.Normalizers norms) {
            targets.clear();
            targets.putAll(batches);
            normalizers = norms;
        }

        @Override
        public PolicyObjective.Targets targets(TokenBatch batch) {
            PolicyObjective.Targets found = targets.get(batch);
            if (found == null) {
                throw new IllegalStateException("no rollout targets were set for this batch of " + batch.batch()
                        + " rows");
            }
            return found;
        }

        @Override
        public PolicyObjective.Normalizers normalizers() {
            if (normalizers == null) {
                throw new IllegalStateException("no minibatch normalisers were set");
            }
            return normalizers;
        }
    }

    /**
     * What preference units carry for the objective: the reference model's summed log-probs of each row and
     * the units' labels, set before each step from the step's units (in batch row order).
     */
    public static final class BatchReference implements ReferenceLogProbs {
        private double[] logProbs;
        private boolean[] labels;
        private double[] margins;
        private StepRewardObjective.StepLabels steps;

        /** The next step's labelled reasoning steps (process reward models). */
        public void setSteps(StepRewardObjective.StepLabels labels) {
            this.steps = labels;
        }

        /** The labelled steps of the batch (process reward models). */
        public StepRewardObjective.StepLabels steps(TokenBatch batch) {
            if (steps == null) {
                throw new IllegalStateException("no step labels were set for this batch of " + batch.batch() + " rows");
            }
            return steps;
        }

        /** The next step's per-row reference log-probs and labels, and its per-pair margins. */
        public void set(double[] rowLogProbs, boolean[] rowLabels, double[] pairMargins) {
            this.logProbs = rowLogProbs;
            this.labels = rowLabels;
            this.margins = pairMargins;
        }

        /** The margins of the batch's pairs (reward models). */
        public double[] margins(TokenBatch batch) {
            if (margins == null || 2 * margins.length != batch.batch()) {
                throw new IllegalStateException("no margins were set for this batch of " + batch.batch() + " rows");
            }
            return margins;
        }

        @Override
        public double[] sequenceLogProbs(TokenBatch batch) {
            if (logProbs == null || logProbs.length != batch.batch()) {
                throw new IllegalStateException("no reference log-probs were set for this batch of " + batch.batch()
                        + " rows");
            }
            return logProbs;
        }

        /** The labels of the batch's rows (KTO). */
        public boolean[] labels(TokenBatch batch) {
            if (labels == null || labels.length != batch.batch()) {
                throw new IllegalStateException("no labels were set for this batch of " + batch.batch() + " rows");
            }
            return labels;
        }
    }

    /** Teacher targets that travel with the rows: set before each step from the batch's rows. */
    public static final class BatchTeacher implements Teacher {
        private TeacherTargets.TopK current;

        /** Takes the top-k of {@code rows} (in batch order) as the targets of the next step. */
        public void set(java.util.List<io.whetstone.datasets.pack.PackedSequence> rows) {
            int seqLen = rows.get(0).seqLen();
            int[][] ids = new int[rows.size() * seqLen][];
            float[][] logProbs = new float[rows.size() * seqLen][];
            for (int b = 0; b < rows.size(); b++) {
                io.whetstone.datasets.pack.PackedSequence row = rows.get(b);
                if (row.teacher() == null) {
                    throw new IllegalStateException("a row without the teacher's top-k reached a top-k objective");
                }
                int k = row.teacher().k();
                int j = 0;
                for (int t = 0; t < row.seqLen(); t++) {
                    if (row.targetMask()[t + 1]) {
                        ids[b * seqLen + t] = java.util.Arrays.copyOfRange(row.teacher().ids(), j * k, (j + 1) * k);
                        logProbs[b * seqLen + t] = java.util.Arrays.copyOfRange(row.teacher().logProbs(), j * k,
                                (j + 1) * k);
                        j++;
                    }
                }
            }
            current = new TeacherTargets.TopK(ids, logProbs);
        }

        @Override
        public TeacherTargets targets(TokenBatch batch) {
            if (current == null) {
                throw new IllegalStateException("no top-k targets were set for this batch");
            }
            return current;
        }
    }

    /** A model for {@code setup} (a frozen base, if any, is read from {@code base} when the model is made). */
    public static Bundle acquire(WorkerSetup setup, java.util.function.Supplier<io.whetstone.models.engine.FrozenParams> base) {
        return acquire(setup, base, () -> null);
    }

    /**
     * As {@link #acquire(WorkerSetup, java.util.function.Supplier)}; with a teacher in the setup, its
     * parameters are read from {@code teacher} when the bundle is made, and the objective distils from it.
     */
    public static Bundle acquire(WorkerSetup setup, java.util.function.Supplier<io.whetstone.models.engine.FrozenParams> base,
                                 java.util.function.Supplier<io.whetstone.models.engine.FrozenParams> teacherParams) {
        return ModelPool.take(setup, () -> build(setup, base, teacherParams));
    }

    private static Bundle build(WorkerSetup setup, java.util.function.Supplier<io.whetstone.models.engine.FrozenParams> base,
                                java.util.function.Supplier<io.whetstone.models.engine.FrozenParams> teacherParams) {
        Transformer model = new Transformer(setup.model(), setup.engine(), setup.lora(), setup.heads());
        if (setup.lora() != null) {
            model.parameters().load(base.get()); // the frozen matrices in model.frozen_dtype
        }
        Optimizer optimizer = OptimizerKind.parse(setup.optimizer()).create(model.trainableParameters(),
                model.kernels(), setup.adamw());
        Transformer teacher = null;
        BatchTeacher batchTeacher = null;
        Trainer onPolicyTrainer = null;
        Objective objective = new MaskedCrossEntropy();
        if (setup.teacher() != null && setup.teacher().runsTeacher()) {
            teacher = Transformer.frozen(setup.teacher().model(), setup.engine());
            teacher.parameters().load(teacherParams.get());
            objective = new DistillationObjective(setup.teacher().loss(), setup.teacher().ceWeight(),
                    new ModelTeacher(teacher));
            if (setup.teacher().onPolicyFraction() > 0) {
                // the student's own samples are trained on the divergence alone (no cross-entropy on them)
                onPolicyTrainer = new Trainer(model, new DistillationObjective(setup.teacher().loss(), 0.0,
                        new ModelTeacher(teacher)), optimizer, setup.schedule());
            }
        } else if (setup.teacher() != null) {
            batchTeacher = new BatchTeacher();
            objective = new DistillationObjective(setup.teacher().loss(), setup.teacher().ceWeight(), batchTeacher);
        }
        BatchReference batchReference = null;
        if (setup.preference() != null) {
            batchReference = new BatchReference();
            BatchReference reference = batchReference;
            WorkerSetup.PreferenceSetup preference = setup.preference();
            objective = preference.kto() != null ? new KtoObjective(preference.kto(), reference, reference::labels)
                    : preference.rewardToken() >= 0 ? new RewardObjective(preference.rewardToken(), reference::margins)
                    : preference.stepToken() >= 0 ? new StepRewardObjective(preference.stepToken(), reference::steps)
                    : new PreferenceObjective(preference.pairwise(), reference);
        }
        BatchRollouts batchRollouts = null;
        if (setup.policy() != null) {
            WorkerSetup.PolicySetup policy = setup.policy();
            batchRollouts = new BatchRollouts();
            // PPO's value head lives in the model's store, after the model's tensors
            ValueHead head = policy.valueHead() ? new ValueHead(model.parameters()) : null;
            objective = new PolicyObjective(new ClippedPolicyLoss(policy.clipLow(), policy.clipHigh(), policy.klCoef(),
                    policy.normalization(), policy.dualClip(), policy.ratio()), head,
                    head == null ? null : new ValueLoss(policy.valueClip()), policy.valueCoef(), policy.replayCoef(),
                    batchRollouts);
            // the trainer scores tokens under the distribution they were sampled from
            model.setTemperature(policy.temperature());
        }
        Trainer trainer = new Trainer(model, objective, optimizer, setup.schedule());
        return new Bundle(setup, model, optimizer, trainer, teacher, batchTeacher, onPolicyTrainer, batchReference,
                batchRollouts);
    }

    /** Returns {@code bundle} to the pool. */
    public static void release(Bundle bundle) {
        ModelPool.give(bundle.setup(), bundle);
    }
}
