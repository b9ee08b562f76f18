package io.whetstone.models.lora;

/**
 * One adapted block of one engine weight: columns [from, from + width) of weight {@code weight} (the
 * engine's [in, out] layout) in layer {@code layer}, known to Hugging Face / PEFT as {@code module}.
 *
 * @param layer layer index
 * @param module PEFT module name (q_proj, c_attn, ...)
 * @param weight engine tensor name of the base weight
 * @param in input width
 * @param from first column of the block
 * @param width columns of the block
 * @param peftPath the module's path in a PEFT checkpoint (without {@code .lora_A.weight})
 * @param ropeHeads for q/k of Llama: how many heads, from the block's first column, have their rows permuted
 *     between the engine's and HF's RoPE layout (all of a q or k block; the q and k heads of Phi-3's fused
 *     qkv block, not its v heads); 0 otherwise
 */
public record LoraSite(int layer, String module, String weight, int in, int from, int width, String peftPath,
                       int ropeHeads) {

    /** Engine name of A [in, r]. */
    public String aName() {
        return "lora." + layer + "." + module + ".A";
    }

    /** Engine name of B [r, width]. */
    public String bName() {
        return "lora." + layer + "." + module + ".B";
    }
}
