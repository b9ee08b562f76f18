package io.whetstone.datasets.tokenize;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The SentencePiece-style BPE of Llama models, as stored in GGUF metadata (pieces, scores, token types;
 * {@code ▁} for spaces, byte fallback pieces {@code <0xNN>}). Encoding follows llama.cpp's SPM tokenizer:
 * spaces become {@code ▁} (with one prepended at the start of a sequence), the text is split into
 * characters, and the adjacent pair whose concatenation is a piece with the highest score is merged
 * repeatedly (ties: leftmost); characters that are no piece become their UTF-8 bytes. Written by hand
 * because no Java library reads this vocabulary; {@link #files()} also writes it as a Hugging Face
 * {@code tokenizer.json} (merges derived from scores as Hugging Face's converter does), which the tests
 * check against the Rust tokenizers library.
 */
public final class SentencePieceTokenizer implements Tokenizer {

    private static final long serialVersionUID = 1L;
    private static final String SPACE = "\u2581";
    /** GGUF token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. */
    private static final int TYPE_CONTROL = 3;
    private static final int TYPE_BYTE = 6;
    private static final int TYPE_UNKNOWN = 2;

    private final List<String> pieces;
    private final float[] scores;
    private final int[] types;
    private final int bos;
    private final int eos;
    private final int unk;
    private final Map<String, Integer> ids = new HashMap<>();
    private final int[] byteIds = new int[256];
    private String id; // computed on first use (TokenizerIdentity encodes probes)
    /** whetstone special names mapped to pieces (tokenizer.special_tokens); empty by default. */
    private final Map<String, String> names;
    /** The chat template carried into written files; null when none. */
    private String chatTemplate;

    /** A tokenizer of {@code pieces} with {@code scores} and GGUF token {@code types}, and its special ids. */
    public SentencePieceTokenizer(List<String> pieces, float[] scores, int[] types, int bos, int eos, int unk) {
        this(pieces, scores, types, bos, eos, unk, Map.of());
    }

    /** As the other constructor, with whetstone special names mapped to pieces of the vocabulary. */
    public SentencePieceTokenizer(List<String> pieces, float[] scores, int[] types, int bos, int eos, int unk,
                                  Map<String, String> names) {
        if (pieces.size() != scores.length || pieces.size() != types.length) {
            throw new IllegalArgumentException("vocabulary of " + pieces.size() + " pieces has " + scores.length
                    + " scores and " + types.length + " types");
        }
        for (int special : new int[] {bos, eos, unk}) {
            if (special < 0 || special >= pieces.size()) {
                throw new IllegalArgumentException("special token id " + special + " outside the vocabulary");
            }
        }
        this.pieces = List.copyOf(pieces);
        this.names = Map.copyOf(names);
        this.scores = scores.clone();
        this.types = types.clone();
        this.bos = bos;
        this.eos = eos;
        this.unk = unk;
        java.util.Arrays.fill(byteIds, -1);
        for (int i = 0; i < pieces.size(); i++) {
            String piece = pieces.get(i);
            if (types[i] == TYPE_BYTE) {
                if (!piece.matches("<0x[0-9A-Fa-f]{2}>")) {
                    throw new IllegalArgumentException("byte token " + i + " is '" + piece + "', expected <0xNN>");
                }
                byteIds[Integer.parseInt(piece.substring(3, 5), 16)] = i;
            } else {
                ids.putIfAbsent(piece, i);
            }
        }
        for (Map.Entry<String, String> name : this.names.entrySet()) {
            if (!ids.containsKey(name.getValue())) {
                throw new IllegalArgumentException("tokenizer.special_tokens: " + name.getKey() + " is mapped to '"
                        + name.getValue() + "', which is not a piece of this vocabulary");
            }
        }
    }


    /** The behavioural identity ({@link TokenizerIdentity}): the same for this vocabulary from any file. */
    @Override
    public synchronized String id() {
        if (id == null) {
            id = TokenizerIdentity.of("tok:", this);
        }
        return id;
    }

    @Override
    public int vocabSize() {
        return pieces.size();
    }

    @Override
    public Tokenizer withSpecialTokens(Map<String, String> mapping) {
        if (mapping.isEmpty()) {
            return this;
        }
        Map<String, String> merged = new LinkedHashMap<>(names);
        merged.putAll(mapping);
        SentencePieceTokenizer mapped = new SentencePieceTokenizer(pieces, scores, types, bos, eos, unk, merged);
        mapped.chatTemplate = chatTemplate;
        return mapped;
    }

    @Override
    public java.util.Optional<String> chatTemplate() {
        return java.util.Optional.ofNullable(chatTemplate);
    }

    @Override
    public Tokenizer withChatTemplate(String template) {
        SentencePieceTokenizer carrying = new SentencePieceTokenizer(pieces, scores, types, bos, eos, unk, names);
        carrying.chatTemplate = template;
        return carrying;
    }

    @Override
    public Map<String, String> templateVariables() {
        return Map.of("bos_token", pieces.get(bos), "eos_token", pieces.get(eos), "unk_token", pieces.get(unk));
    }

    @Override
    public java.util.Optional<String> tokenText(int id) {
        return id >= 0 && id < pieces.size() ? java.util.Optional.of(pieces.get(id)) : java.util.Optional.empty();
    }

    @Override
    public java.util.Set<String> specialTokenTexts() {
        java.util.Set<String> texts = new java.util.TreeSet<>();
        for (int i = 0; i < pieces.size(); i++) {
            if (types[i] == TYPE_CONTROL) {
                texts.add(pieces.get(i));
            }
        }
        return texts;
    }

    /** The piece of token {@code id}. */
    public String piece(int tokenId) {
        return pieces.get(tokenId);
    }

    /** Ids of {@code text} at the start of a sequence (a space is prepended, as SentencePiece does). */
    @Override
    public int[] encode(String text) {
        return text.isEmpty() ? new int[0] : bpe(SPACE + text.replace(" ", SPACE));
    }

    /** Ids of {@code text} continuing a sequence: no space is prepended. */
    @Override
    public int[] encodeContinuation(String text) {
        return text.isEmpty() ? new int[0] : bpe(text.replace(" ", SPACE));
    }

    private record Bigram(int left, int right, float score, int size) {
    }

    private int[] bpe(String text) {
        List<int[]> symbols = new ArrayList<>(); // [start, end, prev, next]
        int offset = 0;
        while (offset < text.length()) {
            int next = text.offsetByCodePoints(offset, 1);
            symbols.add(new int[] {offset, next, symbols.size() - 1, symbols.size() + 1});
            offset = next;
        }
        if (!symbols.isEmpty()) {
            symbols.get(symbols.size() - 1)[3] = -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.score() != b.score()
                ? Float.compare(b.score(), a.score()) : Integer.compare(a.left(), b.left()));
        for (int i = 1; i < symbols.size(); i++) {
            addBigram(text, symbols, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Bigram bigram = queue.poll();
            int[] left = symbols.get(bigram.left());
            int[] right = symbols.get(bigram.right());
            if (left[1] == left[0] || right[1] == right[0] || (left[1] - left[0]) + (right[1] - right[0]) != bigram.size()
                    || left[1] != right[0]) {
                continue; // one side was merged away since this pair was queued
            }
            left[1] = right[1];
            right[1] = right[0]; // empty
            left[3] = right[3];
            if (right[3] >= 0) {
                symbols.get(right[3])[2] = bigram.left();
            }
            if (left[2] >= 0) {
                addBigram(text, symbols, left[2], bigram.left(), queue);
            }
            if (left[3] >= 0) {
                addBigram(text, symbols, bigram.left(), left[3], queue);
            }
        }
        List<Integer> out = new ArrayList<>();
        for (int i = symbols.isEmpty() ? -1 : 0; i >= 0; i = symbols.get(i)[3]) {
            int[] symbol = symbols.get(i);
            String piece = text.substring(symbol[0], symbol[1]);
            Integer tokenId = ids.get(piece);
            if (tokenId != null) {
                out.add(tokenId);
            } else {
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                    int byteId = byteIds[b & 0xFF];
                    out.add(byteId >= 0 ? byteId : unk);
                }
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private void addBigram(String text, List<int[]> symbols, int left, int right, PriorityQueue<Bigram> queue) {
        int[] l = symbols.get(left);
        int[] r = symbols.get(right);
        String merged = text.substring(l[0], l[1]) + text.substring(r[0], r[1]);
        Integer tokenId = ids.get(merged);
        if (tokenId != null && types[tokenId] != TYPE_CONTROL && types[tokenId] != TYPE_UNKNOWN) {
            queue.add(new Bigram(left, right, scores[tokenId], merged.length()));
        }
    }

    @Override
    public String decode(int[] tokenIds) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int tokenId : tokenIds) {
            if (tokenId < 0 || tokenId >= pieces.size() || isSpecial(tokenId)) {
                continue;
            }
            if (types[tokenId] == TYPE_BYTE) {
                bytes.write(Integer.parseInt(pieces.get(tokenId).substring(3, 5), 16));
            } else {
                bytes.writeBytes(pieces.get(tokenId).replace(SPACE, " ").getBytes(StandardCharsets.UTF_8));
            }
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        return text.startsWith(" ") ? text.substring(1) : text; // the space SentencePiece prepended
    }

    @Override
    public int specialId(String name) {
        String mapped = names.get(name);
        if (mapped != null) {
            return ids.get(mapped);
        }
        return switch (name) {
            case "<|bos|>" -> bos;
            case "<|eos|>", "<|pad|>" -> eos;
            default -> {
                Integer tokenId = ids.get(name);
                if (tokenId == null) {
                    // not id(): the identity itself asks for every special name
                    throw new IllegalArgumentException("the SentencePiece tokenizer (" + pieces.size()
                            + " pieces) has no special token " + name
                            + "; map it to a piece of the vocabulary with tokenizer.special_tokens");
                }
                yield tokenId;
            }
        };
    }

    @Override
    public boolean isSpecial(int tokenId) {
        return tokenId >= 0 && tokenId < types.length && (types[tokenId] == TYPE_CONTROL || types[tokenId] == TYPE_UNKNOWN);
    }

    /**
     * {@code tokenizer.json} (Hugging Face BPE with byte fallback, merges ordered by the score of their
     * result as in Hugging Face's slow-to-fast converter) and {@code tokenizer_config.json}.
     */
    @Override
    public Map<String, byte[]> files() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < pieces.size(); i++) {
            if (isSpecial(i)) {
                ObjectNode token = added.addObject();
                token.put("id", i);
                token.put("content", pieces.get(i));
                token.put("single_word", false);
                token.put("lstrip", false);
                token.put("rstrip", false);
                token.put("normalized", false);
                token.put("special", true);
            }
        }
        ObjectNode normalizer = root.putObject("normalizer");
        normalizer.put("type", "Sequence");
        ArrayNode normalizers = normalizer.putArray("normalizers");
        normalizers.addObject().put("type", "Prepend").put("prepend", SPACE);
        ObjectNode replace = normalizers.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", SPACE);
        root.putNull("pre_tokenizer");
        root.putNull("post_processor");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        ObjectNode back = decoders.addObject().put("type", "Replace");
        back.putObject("pattern").put("String", SPACE);
        back.put("content", " ");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", pieces.get(unk));
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < pieces.size(); i++) {
            vocab.put(pieces.get(i), i);
        }
        ArrayNode merges = model.putArray("merges");
        for (String[] merge : merges()) {
            merges.add(merge[0] + " " + merge[1]);
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        try {
            files.put("tokenizer.json", json.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
            ObjectNode config = json.createObjectNode();
            config.put("tokenizer_class", "LlamaTokenizerFast");
            config.put("bos_token", pieces.get(bos));
            config.put("eos_token", pieces.get(eos));
            config.put("unk_token", pieces.get(unk));
            config.put("add_bos_token", true);
            config.put("add_eos_token", false);
            config.put("legacy", true);
            config.put("whetstone_tokenizer", "spm");
            if (chatTemplate != null) {
                config.put("chat_template", chatTemplate);
            }
            files.put("tokenizer_config.json", json.writerWithDefaultPrettyPrinter().writeValueAsBytes(config));
            files.put(VOCABULARY_FILE, vocabularyJson(json));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write tokenizer files", e);
        }
        return files;
    }

    /** The file holding the vocabulary itself (pieces, scores, types, special ids), read back by {@link #fromVocabulary}. */
    public static final String VOCABULARY_FILE = "whetstone_spm_vocab.json";

    private byte[] vocabularyJson(ObjectMapper json) throws com.fasterxml.jackson.core.JsonProcessingException {
        ObjectNode root = json.createObjectNode();
        root.put("bos", bos);
        root.put("eos", eos);
        root.put("unk", unk);
        ObjectNode mapped = root.putObject("special_tokens");
        new java.util.TreeMap<>(names).forEach(mapped::put);
        if (chatTemplate != null) {
            root.put("chat_template", chatTemplate);
        }
        ArrayNode pieceArray = root.putArray("pieces");
        ArrayNode scoreArray = root.putArray("scores");
        ArrayNode typeArray = root.putArray("types");
        for (int i = 0; i < pieces.size(); i++) {
            pieceArray.add(pieces.get(i));
            scoreArray.add(scores[i]);
            typeArray.add(types[i]);
        }
        return json.writeValueAsBytes(root);
    }

    /** A tokenizer from the bytes of {@link #VOCABULARY_FILE}. */
    public static SentencePieceTokenizer fromVocabulary(byte[] bytes) {
        try {
            com.fasterxml.jackson.databind.JsonNode root = new ObjectMapper().readTree(bytes);
            int n = root.path("pieces").size();
            List<String> pieceList = new ArrayList<>(n);
            float[] scoreArray = new float[n];
            int[] typeArray = new int[n];
            for (int i = 0; i < n; i++) {
                pieceList.add(root.path("pieces").get(i).asText());
                scoreArray[i] = (float) root.path("scores").get(i).asDouble();
                typeArray[i] = root.path("types").get(i).asInt();
            }
            Map<String, String> mapped = new LinkedHashMap<>();
            root.path("special_tokens").fields().forEachRemaining(entry -> mapped.put(entry.getKey(),
                    entry.getValue().asText()));
            SentencePieceTokenizer tokenizer = new SentencePieceTokenizer(pieceList, scoreArray, typeArray,
                    root.path("bos").asInt(), root.path("eos").asInt(), root.path("unk").asInt(), mapped);
            tokenizer.chatTemplate = root.hasNonNull("chat_template") ? root.get("chat_template").asText() : null;
            return tokenizer;
        } catch (java.io.IOException | NullPointerException e) {
            throw new IllegalArgumentException(VOCABULARY_FILE + " is not a valid vocabulary: " + e.getMessage(), e);
        }
    }

    /** Every split of a normal piece into two pieces, ordered by the piece's score (highest first). */
    private List<String[]> merges() {
        List<Object[]> found = new ArrayList<>();
        for (int i = 0; i < pieces.size(); i++) {
            if (types[i] != 1) {
                continue;
            }
            String piece = pieces.get(i);
            for (int split = piece.offsetByCodePoints(0, 1); split < piece.length();
                 split = piece.offsetByCodePoints(split, 1)) {
                Integer left = ids.get(piece.substring(0, split));
                Integer right = ids.get(piece.substring(split));
                if (left != null && right != null) {
                    found.add(new Object[] {piece.substring(0, split), piece.substring(split), scores[i], left, right});
                }
            }
        }
        found.sort((a, b) -> {
            int byScore = Float.compare((float) b[2], (float) a[2]);
            if (byScore != 0) {
                return byScore;
            }
            int byLeft = Integer.compare((int) a[3], (int) b[3]);
            return byLeft != 0 ? byLeft : Integer.compare((int) a[4], (int) b[4]);
        });
        List<String[]> result = new ArrayList<>();
        for (Object[] merge : found) {
            result.add(new String[] {(String) merge[0], (String) merge[1]});
        }
        return result;
    }
}
