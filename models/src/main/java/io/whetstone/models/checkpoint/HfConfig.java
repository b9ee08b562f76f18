package io.whetstone.models.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.whetstone.models.Architecture;
import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.RopeScaling;
import io.whetstone.models.Variant;
import java.util.List;
import java.util.Set;

/**
 * Hugging Face {@code config.json} to and from {@link ModelConfig}, for every {@link Architecture}, in both
 * config styles: transformers 4.x ({@code rope_theta}, {@code rope_scaling}, {@code torch_dtype}) and 5.x
 * ({@code rope_parameters} holding the theta and the scaling, {@code dtype}).
 *
 * <p>Nothing that changes the computation is ignored: a key the engine does not implement (an unknown rope
 * type, partial rotary, logit soft-capping, experts, quantisation, an MLP bias, another activation) stops the
 * load with a message naming the key. A sliding window shorter than the model's context caps the context at
 * the window, where sliding-window and full attention agree; dynamic NTK rope caps it at the original
 * context, where dynamic and plain rope agree.
 */
public final class HfConfig {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Keys whose presence (with a non-null, non-false value) means a computation the engine lacks. */
    private static final List<String> REFUSED = List.of("attn_logit_softcapping", "final_logit_softcapping",
            "num_experts", "num_local_experts", "n_routed_experts", "moe_intermediate_size", "quantization_config",
            "query_pre_attn_scalar", "mlp_bias");

    private static final Set<String> SILU = Set.of("silu", "swish");
    private static final Set<String> GELU_TANH = Set.of("gelu_pytorch_tanh", "gelu_new", "gelu_fast", "gelu_tanh");

    private HfConfig() {
    }

    /** The model shape of a {@code config.json}; {@code file} names it in errors. */
    public static ModelConfig parse(JsonNode root, String file) {
        String type = root.path("model_type").asText("");
        Architecture architecture = Architecture.ofModelType(type);
        if (architecture == null) {
            throw new CheckpointFormatException(file + ": model_type '" + type + "' is not supported ("
                    + Architecture.supported() + ")");
        }
        try {
            return architecture == Architecture.GPT2 ? gpt2(root, file) : llamaFamily(root, architecture, file);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file + ": " + e.getMessage(), e);
        }
    }

    private static ModelConfig gpt2(JsonNode root, String file) {
        int width = need(root, "n_embd", file);
        int inner = root.path("n_inner").isNumber() ? root.get("n_inner").asInt() : 4 * width;
        String activation = root.path("activation_function").asText("gelu_new");
        if (!GELU_TANH.contains(activation)) {
            throw refused(file, "activation_function", activation + " (the engine's GPT-2 MLP is tanh-GELU)");
        }
        return new ModelConfig(Family.GPT2, need(root, "vocab_size", file), width, need(root, "n_layer", file),
                need(root, "n_head", file), need(root, "n_head", file), inner, need(root, "n_positions", file),
                root.path("layer_norm_epsilon").asDouble(1e-5), 10000.0, true);
    }

    private static ModelConfig llamaFamily(JsonNode root, Architecture architecture, String file) {
        for (String key : REFUSED) {
            JsonNode value = root.get(key);
            if (value != null && !value.isNull() && !(value.isBoolean() && !value.asBoolean())
                    && !(value.isNumber() && value.asDouble() == 0)) {
                throw refused(file, key, value.toString());
            }
        }
        checkActivation(root, architecture, file);
        int heads = need(root, "num_attention_heads", file);
        int maxPositions = need(root, "max_position_embeddings", file);
        JsonNode rope = root.path("rope_parameters").isObject() ? root.get("rope_parameters")
                : root.path("rope_scaling");
        String ropeKey = root.path("rope_parameters").isObject() ? "rope_parameters" : "rope_scaling";
        double theta = rope.path("rope_theta").isNumber() ? rope.get("rope_theta").asDouble()
                : root.path("rope_theta").asDouble(10000.0);
        double partial = rope.path("partial_rotary_factor").isNumber() ? rope.get("partial_rotary_factor").asDouble()
                : root.path("partial_rotary_factor").asDouble(1.0);
        if (partial != 1.0) {
            throw refused(file, "partial_rotary_factor", String.valueOf(partial));
        }
        int context = maxPositions;
        RopeScaling scaling = RopeScaling.NONE;
        String ropeType = rope.path("rope_type").asText(rope.path("type").asText("default"));
        switch (ropeType) {
            case "default" -> { }
            case "linear" -> scaling = RopeScaling.linear(factor(rope, ropeKey, file));
            case "llama3" -> scaling = RopeScaling.llama3(factor(rope, ropeKey, file),
                    number(rope, "low_freq_factor", ropeKey, file), number(rope, "high_freq_factor", ropeKey, file),
                    (int) number(rope, "original_max_position_embeddings", ropeKey, file));
            case "dynamic" -> {
                // equal to plain rope up to the original context, where transformers starts rescaling
                int original = rope.path("original_max_position_embeddings").asInt(maxPositions);
                context = Math.min(context, original);
            }
            default -> throw refused(file, ropeKey + ".rope_type", ropeType);
        }
        int window = slidingWindow(root, architecture);
        if (window > 0 && window < context) {
            context = window;
        }
        boolean attentionBias = root.path("attention_bias").asBoolean(false);
        Variant variant = Variant.plain(architecture)
                .withHeadDim(root.path("head_dim").isNumber() ? root.get("head_dim").asInt() : 0)
                .withBiases(architecture == Architecture.QWEN2 || attentionBias, attentionBias)
                .withQkNorm(architecture == Architecture.QWEN3)
                .withRopeScaling(scaling)
                .withSlidingWindow(window > 0 && window <= context ? window : 0);
        if (variant.headDim() == root.path("hidden_size").asInt() / Math.max(1, heads)) {
            variant = variant.withHeadDim(0); // the default made explicit
        }
        return new ModelConfig(Family.LLAMA, need(root, "vocab_size", file), need(root, "hidden_size", file),
                need(root, "num_hidden_layers", file), heads, root.path("num_key_value_heads").asInt(heads),
                need(root, "intermediate_size", file), context,
                root.path("rms_norm_eps").asDouble(architecture == Architecture.PHI3 ? 1e-5 : 1e-6), theta,
                root.path("tie_word_embeddings").asBoolean(architecture == Architecture.GEMMA), variant);
    }

    private static void checkActivation(JsonNode root, Architecture architecture, String file) {
        if (architecture == Architecture.GEMMA && root.hasNonNull("hidden_activation")) {
            // transformers 4.x computes Gemma's MLP with hidden_activation whatever hidden_act says
            requireActivation(root, "hidden_activation", GELU_TANH, architecture, file);
        } else if (architecture == Architecture.GEMMA) {
            // early Gemma configs say hidden_act "gelu" without hidden_activation; Gemma was trained with the tanh
            // approximation, which transformers 4.x then uses (5.x reads hidden_act), and so does the engine
            Set<String> accepted = new java.util.HashSet<>(GELU_TANH);
            accepted.add("gelu");
            requireActivation(root, "hidden_act", accepted, architecture, file);
        } else {
            requireActivation(root, "hidden_act", SILU, architecture, file);
        }
    }

    private static void requireActivation(JsonNode root, String key, Set<String> accepted, Architecture architecture,
                                          String file) {
        JsonNode value = root.get(key);
        if (value == null || value.isNull()) {
            return; // each config class has its own default, which is the engine's
        }
        if (!accepted.contains(value.asText())) {
            throw refused(file, key, value.asText() + " (" + architecture + " computes with "
                    + (architecture.gelu() ? "gelu_pytorch_tanh" : "silu") + ")");
        }
    }

    /** The attention window the config switches on, 0 for none. */
    private static int slidingWindow(JsonNode root, Architecture architecture) {
        JsonNode window = root.get("sliding_window");
        if (window == null || !window.isNumber() || window.asInt() <= 0) {
            return 0;
        }
        boolean used = switch (architecture) {
            case MISTRAL, PHI3 -> true;
            case QWEN2, QWEN3 -> root.path("use_sliding_window").asBoolean(false);
            default -> root.has("layer_types");
        };
        JsonNode layerTypes = root.get("layer_types");
        if (layerTypes != null && layerTypes.isArray()) {
            used = false;
            for (JsonNode layerType : layerTypes) {
                used |= layerType.asText().equals("sliding_attention");
            }
        }
        return used ? window.asInt() : 0;
    }

    private static double factor(JsonNode rope, String ropeKey, String file) {
        return number(rope, "factor", ropeKey, file);
    }

    private static double number(JsonNode node, String key, String parent, String file) {
        JsonNode value = node.get(key);
        if (value == null || !value.isNumber()) {
            throw new CheckpointFormatException(file + ": missing or non-numeric " + parent + "." + key);
        }
        return value.asDouble();
    }

    private static int need(JsonNode root, String key, String file) {
        JsonNode value = root.get(key);
        if (value == null || !value.isNumber()) {
            throw new CheckpointFormatException(file + ": missing or non-numeric " + key);
        }
        return value.asInt();
    }

    private static CheckpointFormatException refused(String file, String key, String value) {
        return new CheckpointFormatException(file + ": " + key + " = " + value
                + " changes the computation and is not implemented; refusing to load rather than compute another model");
    }

    /** {@code config.json} for {@code config} (4.x keys, which transformers 5 also reads), with the special ids. */
    public static ObjectNode write(ModelConfig config, int bosId, int eosId) {
        return write(config, bosId, eosId, "float32");
    }

    /** As {@link #write(ModelConfig, int, int)}, for weights stored as {@code torchDtype} (float32, bfloat16). */
    /** {@code bosId} is negative for a tokenizer without a BOS token. */
    public static ObjectNode write(ModelConfig config, int bosId, int eosId, String torchDtype) {
        ObjectNode root = JSON.createObjectNode();
        Architecture architecture = config.architecture();
        root.putArray("architectures").add(architecture.hfClass());
        root.put("model_type", architecture.modelType());
        root.put("vocab_size", config.vocabSize());
        if (architecture == Architecture.GPT2) {
            root.put("n_embd", config.width());
            root.put("n_layer", config.layers());
            root.put("n_head", config.heads());
            root.put("n_positions", config.maxSeqLen());
            root.put("n_ctx", config.maxSeqLen());
            root.put("n_inner", config.ffnHidden());
            root.put("activation_function", "gelu_new");
            root.put("layer_norm_epsilon", config.normEps());
            root.put("tie_word_embeddings", true);
        } else {
            Variant variant = config.variant();
            root.put("hidden_size", config.width());
            root.put("intermediate_size", config.ffnHidden());
            root.put("num_hidden_layers", config.layers());
            root.put("num_attention_heads", config.heads());
            root.put("num_key_value_heads", config.kvHeads());
            root.put("head_dim", config.headSize());
            root.put("max_position_embeddings", config.maxSeqLen());
            root.put("rms_norm_eps", config.normEps());
            root.put("rope_theta", config.ropeTheta());
            writeRopeScaling(root, variant.ropeScaling());
            root.put("hidden_act", architecture.gelu() ? "gelu_pytorch_tanh" : "silu");
            if (architecture == Architecture.GEMMA) {
                root.put("hidden_activation", "gelu_pytorch_tanh"); // the key transformers 4.x reads for Gemma
            }
            switch (architecture) {
                case LLAMA -> {
                    if (variant.qkvBias() != variant.outputBias()) {
                        throw new IllegalArgumentException("llama's attention_bias covers q, k, v and o together");
                    }
                    root.put("attention_bias", variant.qkvBias());
                    root.put("mlp_bias", false);
                }
                case QWEN3 -> root.put("attention_bias", false);
                case QWEN2 -> root.put("use_sliding_window", false);
                default -> { }
            }
            if (architecture == Architecture.MISTRAL || architecture == Architecture.PHI3) {
                if (variant.slidingWindow() > 0) {
                    root.put("sliding_window", variant.slidingWindow());
                } else {
                    root.putNull("sliding_window");
                }
            }
            root.put("tie_word_embeddings", config.tiedEmbeddings());
            // some config classes default it to an id beyond a small vocabulary (Phi-3: 32000), which
            // transformers then refuses as the embedding's padding_idx; none keeps every row trainable there
            root.putNull("pad_token_id");
        }
        if (bosId >= 0) {
            root.put("bos_token_id", bosId);
        } else {
            root.putNull("bos_token_id"); // a tokenizer without a BOS token (Qwen's)
        }
        root.put("eos_token_id", eosId);
        root.put("torch_dtype", torchDtype);
        return root;
    }

    private static void writeRopeScaling(ObjectNode root, RopeScaling scaling) {
        switch (scaling.type()) {
            case NONE -> root.putNull("rope_scaling");
            case LINEAR -> {
                ObjectNode node = root.putObject("rope_scaling");
                node.put("rope_type", "linear");
                node.put("factor", scaling.factor());
            }
            case LLAMA3 -> {
                ObjectNode node = root.putObject("rope_scaling");
                node.put("rope_type", "llama3");
                node.put("factor", scaling.factor());
                node.put("low_freq_factor", scaling.lowFreqFactor());
                node.put("high_freq_factor", scaling.highFreqFactor());
                node.put("original_max_position_embeddings", scaling.originalMaxPositions());
            }
        }
    }
}
