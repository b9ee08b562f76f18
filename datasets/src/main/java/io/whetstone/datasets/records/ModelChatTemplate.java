package io.whetstone.datasets.records;

import io.whetstone.datasets.jinja.JinjaException;
import io.whetstone.datasets.jinja.JinjaTemplate;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A model's own chat template (the Jinja {@code chat_template} of its {@code tokenizer_config.json} or
 * {@code chat_template.jinja}), rendered as transformers' {@code apply_chat_template} renders it, and cut
 * into pieces whose assistant turns are trainable.
 *
 * <p>Loss masks come from the rendered text. Where the template marks assistant output with
 * {@code {% generation %}} blocks, those spans are the trainable text. Otherwise assistant turn {@code i}
 * is the text between the rendering of turns {@code [0, i)} with the generation prompt and of turns
 * {@code [0, i]}: exactly what the model would have to generate after that prompt, its end-of-turn
 * marker included. That needs a prefix-preserving template (earlier turns render the same whatever
 * follows); a conversation where it is not (Qwen3 drops earlier turns' reasoning) is refused with a
 * reason rather than masked wrongly.
 *
 * <p>The rendered text is tokenized in pieces: the tokenizer's special-token strings become their
 * tokens, and text is cut at mask boundaries, so a prompt tokenizes the same alone (at inference) as
 * inside its training example. Message content holding a special-token string is refused by
 * {@link #injectedToken}: data must not be able to forge a turn.
 *
 * <p>{@code strftime_now} reads a date fixed when the template was made (on the driver), so a retried
 * task renders what the first attempt did.
 */
public final class ModelChatTemplate implements Serializable {

    private static final long serialVersionUID = 1L;

    private final String source;
    private final Map<String, String> variables;
    private final List<String> specialTokens;
    private final long dateEpochSecond;
    private transient JinjaTemplate parsed;

    private ModelChatTemplate(String source, Map<String, String> variables, List<String> specialTokens,
            Instant date) {
        this.source = source;
        this.variables = new TreeMap<>(variables);
        this.specialTokens = specialTokens.stream().filter(token -> !token.isEmpty()).distinct()
                .sorted(Comparator.comparingInt(String::length).reversed()).toList();
        this.dateEpochSecond = date.getEpochSecond();
        this.parsed = JinjaTemplate.parse(source); // syntax errors surface here, on the driver
    }

    /**
     * A template from its Jinja {@code source}; {@code variables} are the tokenizer's special tokens as
     * the template sees them ({@code bos_token}, {@code eos_token}, ...), {@code specialTokens} the strings
     * the tokenizer maps to special ids, {@code date} what {@code strftime_now} reads.
     */
    public static ModelChatTemplate of(String source, Map<String, String> variables,
            java.util.Collection<String> specialTokens, Instant date) {
        return new ModelChatTemplate(source, variables, new ArrayList<>(specialTokens), date);
    }

    /** The Jinja source, as written into exported checkpoints. */
    public String source() {
        return source;
    }

    /** A digest of what changes the rendering (the source and the special tokens), for cache keys. */
    public String fingerprint() {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(source.getBytes(StandardCharsets.UTF_8));
            digest.update(variables.toString().getBytes(StandardCharsets.UTF_8));
            digest.update(specialTokens.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The rendered conversation and its generation-block spans, as {@code apply_chat_template} renders it. */
    public JinjaTemplate.Rendered render(List<ChatTemplateSpec.Message> messages, boolean addGenerationPrompt,
            Map<String, ?> extra) {
        Map<String, Object> context = new LinkedHashMap<>(variables);
        List<Map<String, Object>> turns = new ArrayList<>();
        for (ChatTemplateSpec.Message message : messages) {
            Map<String, Object> turn = new LinkedHashMap<>();
            turn.put("role", message.role());
            turn.put("content", message.content());
            turns.add(turn);
        }
        context.put("messages", turns);
        context.put("tools", null);
        context.put("documents", null);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("raise_exception", (JinjaTemplate.Function) arguments -> {
            throw new JinjaException.Raised(0, arguments.isEmpty() ? "" : String.valueOf(arguments.get(0)));
        });
        context.put("strftime_now", (JinjaTemplate.Function) arguments -> strftime(String.valueOf(arguments.get(0))));
        context.putAll(extra);
        return template().render(context);
    }

    /** The first special-token string {@code content} holds, or null if none. */
    public String injectedToken(String content) {
        for (int position = 0; position < content.length(); position++) {
            String token = tokenAt(content, position);
            if (token != null) {
                return token;
            }
        }
        return null;
    }

    /** Pieces of a whole conversation; assistant turns (with their end-of-turn markers) are trainable. */
    public List<Piece> conversation(List<ChatTemplateSpec.Message> messages) {
        return trainedFrom(messages, 0);
    }

    /** Pieces of {@code context} followed by {@code completion}, whose assistant turns alone are trainable. */
    public List<Piece> continuation(List<ChatTemplateSpec.Message> context, List<ChatTemplateSpec.Message> completion) {
        List<ChatTemplateSpec.Message> whole = new ArrayList<>(context);
        whole.addAll(completion);
        return trainedFrom(whole, context.size());
    }

    /** Pieces of a generation prompt: the conversation so far and the opening of an assistant turn. */
    public List<Piece> generationPrompt(List<ChatTemplateSpec.Message> messages) {
        return pieces(render(messages, true, Map.of()).text(), List.of());
    }

    private List<Piece> trainedFrom(List<ChatTemplateSpec.Message> messages, int first) {
        JinjaTemplate.Rendered full = render(messages, false, Map.of());
        List<int[]> spans = new ArrayList<>();
        if (!full.generationSpans().isEmpty()) {
            int start = first == 0 ? 0 : render(messages.subList(0, first), true, Map.of()).text().length();
            for (int[] span : full.generationSpans()) {
                if (span[0] >= start) {
                    spans.add(span);
                }
            }
        } else {
            for (int i = first; i < messages.size(); i++) {
                if (messages.get(i).role().equals("assistant")) {
                    spans.add(assistantSpan(messages, i, full.text()));
                }
            }
        }
        return pieces(full.text(), spans);
    }

    private int[] assistantSpan(List<ChatTemplateSpec.Message> messages, int turn, String full) {
        if (turn == 0) {
            throw new IllegalArgumentException("messages[0] is an assistant turn: the chat template needs a turn "
                    + "before it to render the prompt it answers");
        }
        String prompt = render(messages.subList(0, turn), true, Map.of()).text();
        String through = render(messages.subList(0, turn + 1), false, Map.of()).text();
        if (!through.startsWith(prompt) || !full.startsWith(through)) {
            throw new IllegalArgumentException("messages[" + turn + "]: the chat template renders this assistant "
                    + "turn differently once " + (through.startsWith(prompt) ? "later turns follow"
                    : "it follows its prompt") + " (it is not prefix-preserving), so which tokens to train on is "
                    + "ambiguous; use a template with {% generation %} blocks (tokenizer.chat_template: <file>) or "
                    + "train on conversations that end at this turn");
        }
        return new int[] {prompt.length(), through.length()};
    }

    /** Cuts {@code text} at the spans' edges and at special-token strings. */
    List<Piece> pieces(String text, List<int[]> trainableSpans) {
        List<Integer> edges = new ArrayList<>(List.of(0, text.length()));
        for (int[] span : trainableSpans) {
            edges.add(span[0]);
            edges.add(span[1]);
        }
        List<Integer> sorted = edges.stream().distinct().sorted().toList();
        List<Piece> pieces = new ArrayList<>();
        for (int i = 0; i + 1 < sorted.size(); i++) {
            int start = sorted.get(i);
            int end = sorted.get(i + 1);
            boolean trainable = trainableSpans.stream().anyMatch(span -> span[0] <= start && end <= span[1]);
            cutAtSpecialTokens(text.substring(start, end), trainable, pieces);
        }
        return pieces;
    }

    private void cutAtSpecialTokens(String text, boolean trainable, List<Piece> pieces) {
        int position = 0;
        int textStart = 0;
        while (position < text.length()) {
            String token = tokenAt(text, position);
            if (token == null) {
                position++;
                continue;
            }
            if (position > textStart) {
                pieces.add(new Piece.Text(text.substring(textStart, position), trainable));
            }
            pieces.add(new Piece.Special(token, trainable));
            position += token.length();
            textStart = position;
        }
        if (textStart < text.length()) {
            pieces.add(new Piece.Text(text.substring(textStart), trainable));
        }
    }

    private String tokenAt(String text, int position) {
        for (String token : specialTokens) { // longest first
            if (text.startsWith(token, position)) {
                return token;
            }
        }
        return null;
    }

    private String strftime(String format) {
        ZonedDateTime date = Instant.ofEpochSecond(dateEpochSecond).atZone(ZoneOffset.UTC);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char code = format.charAt(++i);
            out.append(switch (code) {
                case 'd' -> String.format("%02d", date.getDayOfMonth());
                case 'm' -> String.format("%02d", date.getMonthValue());
                case 'Y' -> String.valueOf(date.getYear());
                case 'y' -> String.format("%02d", date.getYear() % 100);
                case 'b' -> date.getMonth().getDisplayName(java.time.format.TextStyle.SHORT, java.util.Locale.ENGLISH);
                case 'B' -> date.getMonth().getDisplayName(java.time.format.TextStyle.FULL, java.util.Locale.ENGLISH);
                case 'a' -> date.getDayOfWeek().getDisplayName(java.time.format.TextStyle.SHORT,
                        java.util.Locale.ENGLISH);
                case 'A' -> date.getDayOfWeek().getDisplayName(java.time.format.TextStyle.FULL,
                        java.util.Locale.ENGLISH);
                case 'H' -> String.format("%02d", date.getHour());
                case 'M' -> String.format("%02d", date.getMinute());
                case 'S' -> String.format("%02d", date.getSecond());
                case 'j' -> String.format("%03d", date.getDayOfYear());
                case '%' -> "%";
                default -> "%" + code;
            });
        }
        return out.toString();
    }

    private JinjaTemplate template() {
        if (parsed == null) {
            parsed = JinjaTemplate.parse(source);
        }
        return parsed;
    }
}
