package io.whetstone.datasets.records;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How records become pieces: the prompt/completion layout and the chat template. Chats use the model's
 * own Jinja template when one is given ({@link ModelChatTemplate}); otherwise whetstone's markers, special
 * tokens named here and resolved by the tokenizer: {@code <|bos|>}, {@code <|eos|>}, {@code <|system|>},
 * {@code <|user|>}, {@code <|assistant|>}, {@code <|end|>}. Only assistant content and the end marker after
 * it are trainable in chats; only the completion and EOS in prompt/completion.
 */
public final class ChatTemplateSpec implements Serializable {

    private static final long serialVersionUID = 1L;

    /** The model's template, or null for whetstone's markers. */
    private final ModelChatTemplate model;

    /** Whetstone's markers. */
    public ChatTemplateSpec() {
        this(null);
    }

    /** The model's own template ({@code null}: whetstone's markers). */
    public ChatTemplateSpec(ModelChatTemplate model) {
        this.model = model;
    }

    /** The model's template, if chats use one. */
    public java.util.Optional<ModelChatTemplate> model() {
        return java.util.Optional.ofNullable(model);
    }

    /** What distinguishes this layout in cache keys: {@code whetstone}, or the model template's digest. */
    public String fingerprint() {
        return model == null ? "whetstone" : "jinja-" + model.fingerprint();
    }

    /**
     * Why {@code content} cannot be a turn's text, or null: with a model template, content must not hold the
     * tokenizer's special-token strings (the rendered text is read for them, so data could forge a turn).
     */
    public String contentProblem(String content) {
        String token = model == null ? null : model.injectedToken(content);
        return token == null ? null : "holds the special token '" + token + "' of the model's chat template";
    }

    /** The first line of the Jinja template {@link #markersAsJinja} writes, by which it is recognised. */
    public static final String MARKERS_TEMPLATE_HEADER = "{#- whetstone chat markers v1 -#}";

    /**
     * Whetstone's marker layout as a Jinja chat template, for checkpoints trained with it: {@code bos} (may be
     * empty), then per turn the role's token, a newline, the content and {@code end}; the generation prompt is the
     * assistant token and a newline. {@code roles} maps system, user and assistant to the tokenizer's token texts.
     */
    public static String markersAsJinja(String bos, Map<String, String> roles, String end) {
        StringBuilder jinja = new StringBuilder(MARKERS_TEMPLATE_HEADER).append('\n');
        jinja.append("{{- ").append(literal(bos)).append(" -}}\n");
        jinja.append("{%- for message in messages -%}\n");
        String keyword = "if";
        for (String role : List.of("system", "user", "assistant")) {
            jinja.append("{%- ").append(keyword).append(" message['role'] == '").append(role).append("' -%}{{- ")
                    .append(literal(roles.get(role))).append(" -}}\n");
            keyword = "elif";
        }
        jinja.append("{%- else -%}{{- raise_exception('unknown role ' + message['role']) -}}\n{%- endif -%}\n");
        jinja.append("{{- '\\n' + message['content'] + ").append(literal(end)).append(" -}}\n");
        jinja.append("{%- endfor -%}\n");
        jinja.append("{%- if add_generation_prompt -%}{{- ").append(literal(roles.get("assistant")))
                .append(" + '\\n' -}}{%- endif -%}\n");
        return jinja.toString();
    }

    /** Whether {@code template} is one {@link #markersAsJinja} wrote. */
    public static boolean isMarkersTemplate(String template) {
        return template.startsWith(MARKERS_TEMPLATE_HEADER);
    }

    private static String literal(String text) {
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'";
    }

    /** One chat turn. */
    public record Message(String role, String content) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** Pieces of a prompt/completion example: BOS prompt | completion EOS. */
    public List<Piece> promptCompletion(String prompt, String completion) {
        return List.of(new Piece.Special("<|bos|>", false), new Piece.Text(prompt, false),
                new Piece.Text(completion, true), new Piece.Special("<|eos|>", true));
    }

    /** The prompt text of a question-answer task (GSM8K, the built-in tasks). */
    public String questionPrompt(String question) {
        return "Question: " + question + "\nAnswer: ";
    }

    /** Pieces of a conversation: BOS, then per turn: role marker, content, end marker. */
    public List<Piece> conversation(List<Message> messages) {
        if (model != null) {
            return model.conversation(messages);
        }
        List<Piece> pieces = new ArrayList<>();
        pieces.add(new Piece.Special("<|bos|>", false));
        for (Message message : messages) {
            boolean assistant = message.role().equals("assistant");
            pieces.add(new Piece.Special("<|" + message.role() + "|>", false));
            pieces.add(new Piece.Text("\n" + message.content(), assistant));
            pieces.add(new Piece.Special("<|end|>", assistant));
        }
        return pieces;
    }

    /**
     * Pieces of a conversation whose {@code context} turns are never trained on (a preference record's
     * prompt, which may hold earlier assistant turns) and whose {@code completion}'s assistant turns are.
     */
    public List<Piece> continuation(List<Message> context, List<Message> completion) {
        if (model != null) {
            return model.continuation(context, completion);
        }
        List<Piece> pieces = new ArrayList<>(generationPrompt(context));
        pieces.subList(pieces.size() - 2, pieces.size()).clear(); // the open assistant turn generationPrompt adds
        pieces.addAll(conversation(completion).subList(1, 1 + 3 * completion.size()));
        return pieces;
    }

    /** Pieces of a generation prompt for a conversation: the turns so far, then the assistant marker. */
    public List<Piece> generationPrompt(List<Message> messages) {
        if (model != null) {
            return model.generationPrompt(messages);
        }
        List<Piece> pieces = new ArrayList<>(conversation(messages));
        pieces.replaceAll(piece -> piece instanceof Piece.Text text ? new Piece.Text(text.text(), false)
                : new Piece.Special(((Piece.Special) piece).name(), false));
        pieces.add(new Piece.Special("<|assistant|>", false));
        pieces.add(new Piece.Text("\n", false));
        return pieces;
    }
}
