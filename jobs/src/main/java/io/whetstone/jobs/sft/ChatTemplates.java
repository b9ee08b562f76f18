package io.whetstone.jobs.sft;

import io.whetstone.datasets.records.ChatTemplateSpec;
import io.whetstone.datasets.records.ModelChatTemplate;
import io.whetstone.datasets.tokenize.Tokenizer;
import io.whetstone.jobs.config.TokenizerSpec;
import io.whetstone.jobs.io.HadoopFiles;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a job lays out chats ({@code tokenizer.chat_template}), resolved once on the driver before any data
 * is read: the model's own Jinja template, a template file, or whetstone's markers. A template from a file
 * is carried by the returned tokenizer, so checkpoints and exports keep the template they were trained with.
 */
public final class ChatTemplates {

    private static final Logger LOG = LoggerFactory.getLogger(ChatTemplates.class);
    /** The run's file holding the date {@code strftime_now} reads, fixed at the run's first start. */
    static final String DATE_FILE = io.whetstone.jobs.io.RunDirectory.CHAT_TEMPLATE_DATE;

    private ChatTemplates() {
    }

    /** The chat layout and the tokenizer to train and save with. */
    public record Resolved(ChatTemplateSpec spec, Tokenizer tokenizer) {
    }

    public static Resolved resolve(TokenizerSpec spec, Tokenizer tokenizer, HadoopFiles files, String runDir) {
        String choice = spec.chatTemplate();
        Tokenizer carrying = tokenizer;
        String source;
        switch (choice) {
            case "whetstone":
                return new Resolved(new ChatTemplateSpec(), withMarkersTemplate(tokenizer));
            case "auto":
                if (tokenizer.chatTemplate().isEmpty()
                        || ChatTemplateSpec.isMarkersTemplate(tokenizer.chatTemplate().get())) {
                    // no template, or whetstone's markers written as one by an earlier run: the markers, as then
                    return new Resolved(new ChatTemplateSpec(), withMarkersTemplate(tokenizer));
                }
                source = tokenizer.chatTemplate().get();
                break;
            case "model":
                source = tokenizer.chatTemplate().orElseThrow(() -> new IllegalArgumentException(
                        "tokenizer.chat_template is model, but the model's tokenizer has no chat template (no "
                                + "chat_template in tokenizer_config.json, no chat_template.jinja); give a Jinja file "
                                + "or use whetstone"));
                break;
            default:
                Path file = new Path(choice);
                if (!files.exists(file)) {
                    throw new IllegalArgumentException("tokenizer.chat_template: " + choice + " does not exist "
                            + "(expected auto, model, whetstone or the path of a Jinja template)");
                }
                source = new String(files.readBytes(file), StandardCharsets.UTF_8);
                carrying = tokenizer.withChatTemplate(source);
                break;
        }
        ModelChatTemplate template;
        try {
            template = ModelChatTemplate.of(source, carrying.templateVariables(), carrying.specialTokenTexts(),
                    runDate(files, runDir));
        } catch (io.whetstone.datasets.jinja.JinjaException e) {
            throw new IllegalArgumentException("tokenizer.chat_template (" + choice + "): " + e.getMessage(), e);
        }
        LOG.info("Chats use the {} chat template ({} special tokens)", choice.equals("auto") ? "model's" : choice,
                carrying.specialTokenTexts().size());
        return new Resolved(new ChatTemplateSpec(template), carrying);
    }

    /**
     * How a trained model's chats are laid out, as {@code auto} resolves it for a run ({@link #resolve}): the template
     * its tokenizer carries, or whetstone's markers where it carries none or carries the markers written as one.
     * Dated today (a template that reads the date renders it as of now). For reading a model's data outside a run.
     */
    public static ChatTemplateSpec forModel(Tokenizer tokenizer) {
        if (tokenizer.chatTemplate().isEmpty() || ChatTemplateSpec.isMarkersTemplate(tokenizer.chatTemplate().get())) {
            return new ChatTemplateSpec();
        }
        try {
            return new ChatTemplateSpec(ModelChatTemplate.of(tokenizer.chatTemplate().get(),
                    tokenizer.templateVariables(), tokenizer.specialTokenTexts(), Instant.now()));
        } catch (io.whetstone.datasets.jinja.JinjaException e) {
            throw new IllegalArgumentException("the model's chat template: " + e.getMessage(), e);
        }
    }

    /**
     * {@code tokenizer} carrying whetstone's markers as a Jinja chat template ({@link ChatTemplateSpec#markersAsJinja}),
     * so exported checkpoints render chats in transformers as they were trained; where a marker is not a special token
     * of the vocabulary (a mapped ordinary piece would be re-tokenized as text) or the tokenizer cannot carry a
     * template, the tokenizer as it is, and a line in the log.
     */
    static Tokenizer withMarkersTemplate(Tokenizer tokenizer) {
        java.util.Map<String, String> roles = new java.util.LinkedHashMap<>();
        String end;
        try {
            for (String role : java.util.List.of("system", "user", "assistant")) {
                roles.put(role, specialText(tokenizer, "<|" + role + "|>"));
            }
            end = specialText(tokenizer, "<|end|>");
            String bos = tokenizer.templateVariables().getOrDefault("bos_token", "");
            return tokenizer.withChatTemplate(ChatTemplateSpec.markersAsJinja(bos, roles, end));
        } catch (IllegalArgumentException e) {
            LOG.info("Checkpoints carry no chat_template for whetstone's markers: {}", e.getMessage());
            return tokenizer;
        }
    }

    private static String specialText(Tokenizer tokenizer, String marker) {
        int id = tokenizer.specialId(marker);
        if (!tokenizer.isSpecial(id)) {
            throw new IllegalArgumentException(marker + " is an ordinary token of the vocabulary");
        }
        return tokenizer.tokenText(id).orElseThrow(() -> new IllegalArgumentException("the tokenizer cannot name "
                + marker + "'s token"));
    }

    /** The run's first day (kept in the run directory), so a resumed run renders dated templates as before. */
    private static Instant runDate(HadoopFiles files, String runDir) {
        Path file = new Path(runDir, DATE_FILE);
        if (files.exists(file)) {
            String text = new String(files.readBytes(file), StandardCharsets.UTF_8).trim();
            return LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant();
        }
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        files.writeBytes(file, today.toString().getBytes(StandardCharsets.UTF_8));
        return today.atStartOfDay(ZoneOffset.UTC).toInstant();
    }
}
