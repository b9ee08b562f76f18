package io.whetstone.jobs.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.whetstone.datasets.tokenize.SentencePieceTokenizer;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.checkpoint.CheckpointFormatException;
import io.whetstone.models.checkpoint.GgufFile;
import io.whetstone.models.checkpoint.GgufModel;
import io.whetstone.models.checkpoint.HfFormat;
import io.whetstone.models.checkpoint.RandomAccessSource;
import io.whetstone.models.checkpoint.Safetensors;
import io.whetstone.models.checkpoint.Tensor;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.ParameterStore;
import io.whetstone.models.train.TrainingState;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Models from wherever users keep them, on any Hadoop path: a GGUF file (llama architecture, with its
 * SentencePiece vocabulary), or a Hugging Face directory ({@code config.json} and {@code model.safetensors}
 * or a sharded {@code model.safetensors.index.json}, plus tokenizer files), which is also what whetstone
 * checkpoints are, or a LoRA adapter directory on such a base ({@link AdapterDirectory}).
 */
public final class ModelSources {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelSources() {
    }

    /**
     * Loads {@code path}: a {@code .gguf} file, a model directory, or an adapter directory (PEFT's
     * {@code adapter_config.json} and {@code adapter_model.safetensors}, as LoRA checkpoints are), which loads
     * its base and merges the adapters in.
     */
    public static CheckpointStore.ModelAndTokenizer load(HadoopFiles files, String path) {
        if (path.toLowerCase().endsWith(".gguf")) {
            return gguf(files, path);
        }
        if (AdapterDirectory.isAdapterDirectory(files, path)) {
            return AdapterDirectory.loadMerged(files, path);
        }
        return CheckpointStore.loadModel(files, path);
    }

    /** A GGUF file's model and tokenizer. */
    public static CheckpointStore.ModelAndTokenizer gguf(HadoopFiles files, String path) {
        Path file = new Path(path);
        try (RandomAccessSource source = source(files, file)) {
            GgufFile gguf = GgufFile.read(source, file.toString());
            ModelConfig config = GgufModel.config(gguf);
            return new CheckpointStore.ModelAndTokenizer(config, GgufModel.parameters(gguf, config), tokenizer(gguf));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path, e);
        }
    }

    /** The SentencePiece vocabulary stored in a GGUF file's metadata. */
    public static SentencePieceTokenizer tokenizer(GgufFile gguf) {
        String model = gguf.require("tokenizer.ggml.model", String.class);
        if (!model.equals("llama")) {
            throw new CheckpointFormatException("GGUF tokenizer model '" + model + "' is not supported (llama)");
        }
        List<?> pieces = gguf.require("tokenizer.ggml.tokens", List.class);
        List<?> scores = gguf.require("tokenizer.ggml.scores", List.class);
        List<?> types = gguf.require("tokenizer.ggml.token_type", List.class);
        if (scores.size() != pieces.size() || types.size() != pieces.size()) {
            throw new CheckpointFormatException("GGUF vocabulary has " + pieces.size() + " tokens, " + scores.size()
                    + " scores and " + types.size() + " types");
        }
        List<String> tokens = new ArrayList<>(pieces.size());
        float[] scoreArray = new float[pieces.size()];
        int[] typeArray = new int[pieces.size()];
        for (int i = 0; i < pieces.size(); i++) {
            tokens.add((String) pieces.get(i));
            scoreArray[i] = ((Number) scores.get(i)).floatValue();
            typeArray[i] = ((Number) types.get(i)).intValue();
        }
        return new SentencePieceTokenizer(tokens, scoreArray, typeArray,
                (int) gguf.requireInteger("tokenizer.ggml.bos_token_id"),
                (int) gguf.requireInteger("tokenizer.ggml.eos_token_id"),
                (int) gguf.requireInteger("tokenizer.ggml.unknown_token_id"));
    }

    /** The tensors of a model directory: one safetensors file or the shards its index names. */
    public static Map<String, Tensor> tensors(HadoopFiles files, Path dir) throws IOException {
        Path single = new Path(dir, "model.safetensors");
        if (files.exists(single)) {
            return read(files, single);
        }
        Path index = new Path(dir, "model.safetensors.index.json");
        if (!files.exists(index)) {
            throw new IllegalArgumentException(dir + " has neither model.safetensors nor model.safetensors.index.json");
        }
        JsonNode weightMap = JSON.readTree(files.readBytes(index)).path("weight_map");
        if (!weightMap.isObject() || weightMap.isEmpty()) {
            throw new CheckpointFormatException(index + ": no weight_map");
        }
        Set<String> shards = new LinkedHashSet<>();
        weightMap.fields().forEachRemaining(entry -> shards.add(entry.getValue().asText()));
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (String shard : shards) {
            if (shard.contains("/") || shard.contains("..")) {
                throw new CheckpointFormatException(index + ": shard name '" + shard + "' leaves the directory");
            }
            tensors.putAll(read(files, new Path(dir, shard)));
        }
        return tensors;
    }

    public static Map<String, Tensor> read(HadoopFiles files, Path file) throws IOException {
        FileSystem fs = files.fs(file);
        long size = fs.getFileStatus(file).getLen();
        try (InputStream in = fs.open(file)) {
            return Safetensors.read(in, size, file.toString());
        }
    }

    /** Flat parameters of {@code config} from Hugging Face tensors. */
    public static float[] parameters(Map<String, Tensor> tensors, ModelConfig config, String name) {
        ParameterStore store = new ParameterStore(ParameterLayout.of(config), DataType.FLOAT);
        HfFormat.load(tensors, store, config, name);
        return TrainingState.toFloats(store.params());
    }

    /** Random access to a file on any Hadoop file system (positioned reads). */
    static RandomAccessSource source(HadoopFiles files, Path file) throws IOException {
        FileSystem fs = files.fs(file);
        long size = fs.getFileStatus(file).getLen();
        FSDataInputStream in = fs.open(file);
        return new RandomAccessSource() {
            @Override
            public long size() {
                return size;
            }

            @Override
            public void readFully(long position, byte[] target, int offset, int length) throws IOException {
                if (position + length > size) {
                    throw new CheckpointFormatException(file + ": read of " + length + " bytes at " + position
                            + " passes the end of the file (" + size + " bytes; truncated?)");
                }
                in.readFully(position, target, offset, length);
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        };
    }
}
