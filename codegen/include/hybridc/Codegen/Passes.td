//===- Passes.td - hybridc's lowering passes ---------------*- tablegen -*-===//
#ifndef HYBRIDC_CODEGEN_PASSES_TD
#define HYBRIDC_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToKernels : Pass<"hybrid-lower-to-kernels", "::mlir::ModuleOp"> {
  let summary = "Lower the hybrid model function to kernel calls on planned buffers";
  let description = [{
    Rewrites `func.func @forward` (tensors, `hybrid` ops) into two driver
    functions with the C interface of runtime_abi.h, `@hybridc_prefill`
    (1 <= T <= prefill-tokens tokens: GEMM and chunked-scan kernels),
    `@hybridc_decode` (T = 1: GEMV and single-step kernels) and
    `@hybridc_decode_batch` (one token of each of T streams). Each compute op
    becomes `func.call`s of external kernel functions (one declaration per
    distinct kernel, carrying a `hybrid.kernel` description of what to
    generate) on memrefs:
    * weights are views at static byte offsets of the packed weight payload
      (the layout is recorded in the module attribute `hybrid.weight_plan`);
    * conv/SSM state are views of the state_in / state_out blobs;
    * the K/V projections write straight into the session's KV cache;
    * intermediates live in one workspace, at offsets proportional to T
      planned by liveness so buffers are reused, never allocated per op.
    The `hybrid.weight` declarations and @forward are removed; the module
    attributes `hybrid.*` describe what the runtime must allocate. With
    `symbol-suffix`, every driver and kernel symbol ends with it (recorded
    as `hybrid.symbol_suffix`), so several lowerings of one model, one per
    CPU variant, link into one library.
  }];
  let options = [
    Option<"weightType", "weight-type", "::hybrid::WeightType",
           /*default=*/"::hybrid::WeightType::F32",
           "Storage type of matmul and embedding weights",
           [{::llvm::cl::values(
             clEnumValN(::hybrid::WeightType::F32, "f32", "f32"),
             clEnumValN(::hybrid::WeightType::BF16, "bf16", "bf16"),
             clEnumValN(::hybrid::WeightType::INT8, "int8",
                        "blocks of 32 int8 with f32 scales (the embedding table bf16)"),
             clEnumValN(::hybrid::WeightType::INT4, "int4",
                        "blocks of 32 int4 with f32 scales (the embedding table bf16)"))}]>,
    Option<"lanes", "lanes", "int64_t", /*default=*/"16",
           "f32 lanes of the target's vectors (the packed weight block width)">,
    Option<"inputGroup", "input-group", "int64_t", /*default=*/"1",
           "Consecutive inputs per lane of a packed weight: 1, 2 (bf16 "
           "pairs, for targets whose kernels multiply them with vdpbf16ps), "
           "2 or 4 (int8 and int4: vpmaddwd or vpdpbusd)">,
    Option<"chunkTokens", "chunk-tokens", "int64_t", /*default=*/"256",
           "The state-space-duality chunk length of the scan kernel">,
    Option<"prefillTokens", "prefill-tokens", "int64_t", /*default=*/"0",
           "Largest prefill call (0: chunk-tokens); a scan runs one kernel "
           "call per chunk-tokens slice of it">,
    Option<"symbolSuffix", "symbol-suffix", "std::string", /*default=*/"\"\"",
           "Appended to every driver and kernel symbol: one variant's suffix "
           "in a library holding several CPU variants of the model">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::LLVM::LLVMDialect"
  ];
}

#endif // HYBRIDC_CODEGEN_PASSES_TD
