package io.whetstone.models.lora;

import io.whetstone.models.Family;
import io.whetstone.models.ModelConfig;
import io.whetstone.models.engine.ParameterLayout;
import io.whetstone.models.engine.TensorSpec;
import java.util.ArrayList;
import java.util.List;

/** Where adapters sit in a model and the flat layout of their parameters. */
public final class LoraLayout {

    private final LoraConfig lora;
    private final List<LoraSite> sites;
    private final ParameterLayout layout;

    /** The adapters {@code lora} puts on {@code config} (empty targets: the family's defaults). */
    public LoraLayout(ModelConfig config, LoraConfig lora) {
        lora = lora.forArchitecture(config.architecture());
        lora.validateFor(config.architecture());
        this.lora = lora;
        this.sites = sites(config, lora);
        List<TensorSpec> specs = new ArrayList<>();
        for (LoraSite site : sites) {
            // A: PEFT's kaiming-uniform(a=sqrt(5)) bound is 1/sqrt(in); a normal of that std serves the same role.
            specs.add(new TensorSpec(site.aName(), new long[] {site.in(), lora.rank()}, true, TensorSpec.Init.NORMAL,
                    1.0 / Math.sqrt(site.in())));
            specs.add(new TensorSpec(site.bName(), new long[] {lora.rank(), site.width()}, true, TensorSpec.Init.ZEROS,
                    0));
        }
        this.layout = ParameterLayout.of(specs);
    }

    private static List<LoraSite> sites(ModelConfig c, LoraConfig lora) {
        List<LoraSite> sites = new ArrayList<>();
        int width = c.width();
        for (int i = 0; i < c.layers(); i++) {
            if (c.family() == Family.GPT2) {
                String p = "h." + i + ".";
                String peft = "base_model.model.transformer.h." + i + ".";
                add(sites, lora, new LoraSite(i, "c_attn", p + "attn.c_attn.weight", width, 0, 3 * width,
                        peft + "attn.c_attn", 0));
                add(sites, lora, new LoraSite(i, "c_proj", p + "attn.c_proj.weight", width, 0, width,
                        peft + "attn.c_proj", 0));
                add(sites, lora, new LoraSite(i, "c_fc", p + "mlp.c_fc.weight", width, 0, c.ffnHidden(),
                        peft + "mlp.c_fc", 0));
                if (lora.targets().contains("c_proj")) {
                    sites.add(new LoraSite(i, "mlp_c_proj", p + "mlp.c_proj.weight", c.ffnHidden(), 0, width,
                            peft + "mlp.c_proj", 0));
                }
            } else {
                String p = "layers." + i + ".";
                String peft = "base_model.model.model.layers." + i + ".";
                int q = c.heads() * c.headSize();
                int kv = c.kvHeads() * c.headSize();
                int f = c.ffnHidden();
                // Phi-3's fused modules: one adapter over all of q/k/v (B's q and k rows rope-permuted, v's not)
                add(sites, lora, new LoraSite(i, "qkv_proj", p + "wqkv", width, 0, q + 2 * kv,
                        peft + "self_attn.qkv_proj", c.heads() + c.kvHeads()));
                add(sites, lora, new LoraSite(i, "gate_up_proj", p + "w_gate_up", width, 0, 2 * f,
                        peft + "mlp.gate_up_proj", 0));
                add(sites, lora, new LoraSite(i, "q_proj", p + "wqkv", width, 0, q, peft + "self_attn.q_proj", c.heads()));
                add(sites, lora, new LoraSite(i, "k_proj", p + "wqkv", width, q, kv, peft + "self_attn.k_proj",
                        c.kvHeads()));
                add(sites, lora, new LoraSite(i, "v_proj", p + "wqkv", width, q + kv, kv, peft + "self_attn.v_proj", 0));
                add(sites, lora, new LoraSite(i, "o_proj", p + "wo", q, 0, width, peft + "self_attn.o_proj", 0));
                add(sites, lora, new LoraSite(i, "gate_proj", p + "w_gate_up", width, 0, f, peft + "mlp.gate_proj", 0));
                add(sites, lora, new LoraSite(i, "up_proj", p + "w_gate_up", width, f, f, peft + "mlp.up_proj", 0));
                add(sites, lora, new LoraSite(i, "down_proj", p + "w_down", f, 0, width, peft + "mlp.down_proj", 0));
            }
        }
        return sites;
    }

    private static void add(List<LoraSite> sites, LoraConfig lora, LoraSite site) {
        if (lora.targets().contains(site.module())) {
            sites.add(site);
        }
    }

    public LoraConfig config() {
        return lora;
    }

    public List<LoraSite> sites() {
        return sites;
    }

    /** The adapters' flat layout (A and B of every site). */
    public ParameterLayout layout() {
        return layout;
    }

    /** Sites adapting engine weight {@code weight}. */
    public List<LoraSite> sitesOf(String weight) {
        return sites.stream().filter(site -> site.weight().equals(weight)).toList();
    }
}
