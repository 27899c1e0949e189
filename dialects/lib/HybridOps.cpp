//===- HybridOps.cpp - verifiers of the hybrid ops ------------------------===//
//
// Every op verifies all rank, element-type and shape relations it relies on.
// A dimension that is dynamic on either side of a relation is not checked
// (it is checked again once shapes are specialised). Every message names the
// relation with its numbers and ends with " (layer N)" when the op's location
// names a model layer, so an error in a 40-layer model points at one op.
//
//===----------------------------------------------------------------------===//
#include "hybrid/HybridOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <sstream>
#include <string>

using namespace mlir;
using namespace hybrid;

#define GET_OP_CLASSES
#include "hybrid/HybridOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Layer locations
//===----------------------------------------------------------------------===//

// Finds "layers.<digits>" as a whole dot-separated component pair, so that
// "model.layers.12.mamba.in_proj" gives 12 but "model.sublayers.1" or
// "layers.1x" give nothing.
static std::optional<int64_t> layerFromName(StringRef name) {
  static constexpr StringLiteral kKey = "layers.";
  size_t from = 0;
  while (true) {
    size_t pos = name.find(kKey, from);
    if (pos == StringRef::npos)
      return std::nullopt;
    from = pos + kKey.size();
    if (pos != 0 && name[pos - 1] != '.')
      continue;
    StringRef after = name.drop_front(from);
    StringRef digits = after.take_while(llvm::isDigit);
    if (digits.empty() ||
        (digits.size() != after.size() && after[digits.size()] != '.'))
      continue;
    int64_t index;
    if (!digits.getAsInteger(10, index))
      return index;
  }
}

std::optional<int64_t> hybrid::getLayerIndex(Location loc) {
  if (auto named = llvm::dyn_cast<NameLoc>(loc)) {
    if (auto index = layerFromName(named.getName().getValue()))
      return index;
    return getLayerIndex(named.getChildLoc());
  }
  if (auto fused = llvm::dyn_cast<FusedLoc>(loc)) {
    for (Location part : fused.getLocations())
      if (auto index = getLayerIndex(part))
        return index;
    return std::nullopt;
  }
  // The callee side is where the op came from (after inlining a per-layer
  // function); the caller side is the fallback.
  if (auto site = llvm::dyn_cast<CallSiteLoc>(loc)) {
    if (auto index = getLayerIndex(site.getCallee()))
      return index;
    return getLayerIndex(site.getCaller());
  }
  if (auto opaque = llvm::dyn_cast<OpaqueLoc>(loc))
    return getLayerIndex(opaque.getFallbackLocation());
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Verification helpers
//===----------------------------------------------------------------------===//

namespace {

/// An op error that gets " (layer N)" appended when it is reported, however
/// the message was streamed together. Converts to failure().
class LayerDiag {
public:
  LayerDiag(InFlightDiagnostic &&diag, std::optional<int64_t> layer)
      : diag(std::move(diag)), layer(layer) {}
  LayerDiag(const LayerDiag &) = delete;
  LayerDiag &operator=(const LayerDiag &) = delete;
  // Runs before `diag` is destroyed (and thereby reported).
  ~LayerDiag() {
    if (layer)
      diag << " (layer " << *layer << ")";
  }
  template <typename T> LayerDiag &operator<<(T &&value) {
    diag << std::forward<T>(value);
    return *this;
  }
  operator LogicalResult() const { return failure(); }

private:
  InFlightDiagnostic diag;
  std::optional<int64_t> layer;
};

/// A dimension with the name it is reported under, e.g. "x.shape[1]".
struct NamedDim {
  int64_t size;
  std::string name;
};

NamedDim dim(RankedTensorType type, StringRef name, unsigned index) {
  return {type.getDimSize(index),
          (name + ".shape[" + Twine(index) + "]").str()};
}

/// Attribute values in messages as written in the IR ("0.5", "1e-05"), not
/// raw_ostream's fixed "%e" form.
std::string num(double value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

bool isWeightElement(Type type) {
  return type.isF32() || type.isBF16() || type.isF16();
}

class Checker {
public:
  explicit Checker(Operation *op)
      : op(op), layer(hybrid::getLayerIndex(op->getLoc())) {}

  LayerDiag error() { return LayerDiag(op->emitOpError(), layer); }

  /// Activations and state: ranked f32 tensors of the given rank
  /// (rank < 0: any rank >= 1).
  LogicalResult activation(Type type, StringRef name, int64_t rank,
                           RankedTensorType &out) {
    auto ranked = llvm::dyn_cast<RankedTensorType>(type);
    if (!ranked)
      return error() << name << " must be a ranked tensor, got " << type;
    if (!ranked.getElementType().isF32())
      return error() << name << " must have f32 elements, got " << type;
    if (rank >= 0 ? ranked.getRank() != rank : ranked.getRank() < 1)
      return error() << name << " must have rank "
                     << (rank >= 0 ? std::to_string(rank) : ">= 1")
                     << ", got " << type;
    out = ranked;
    return success();
  }

  /// Weights: ranked tensors of f32, bf16 or f16.
  LogicalResult weight(Type type, StringRef name, int64_t rank,
                       RankedTensorType &out) {
    auto ranked = llvm::dyn_cast<RankedTensorType>(type);
    if (!ranked)
      return error() << name << " must be a ranked tensor, got " << type;
    if (!isWeightElement(ranked.getElementType()))
      return error() << name << " must have f32, bf16 or f16 elements, got "
                     << type;
    if (ranked.getRank() != rank)
      return error() << name << " must have rank " << rank << ", got "
                     << type;
    out = ranked;
    return success();
  }

  /// All static sizes among `dims` are equal. Reports the first disagreement
  /// against the first static dimension. `known` receives the common size
  /// (dynamic if none is static).
  LogicalResult agree(ArrayRef<NamedDim> dims, int64_t *known = nullptr) {
    const NamedDim *ref = nullptr;
    for (const NamedDim &d : dims) {
      if (ShapedType::isDynamic(d.size))
        continue;
      if (!ref) {
        ref = &d;
        continue;
      }
      if (d.size != ref->size)
        return error() << d.name << " (" << d.size << ") must equal "
                       << ref->name << " (" << ref->size << ")";
    }
    if (known)
      *known = ref ? ref->size : ShapedType::kDynamic;
    return success();
  }

  /// The token dimension (dim 0) of all given activations agrees.
  LogicalResult tokens(ArrayRef<std::pair<RankedTensorType, StringRef>> acts) {
    SmallVector<NamedDim> dims;
    for (auto [type, name] : acts)
      dims.push_back(dim(type, name, 0));
    if (failed(agree(dims)))
      return failure();
    return success();
  }

  /// Both types have the same rank and agreeing dimensions.
  LogicalResult sameShape(RankedTensorType a, StringRef aName,
                          RankedTensorType b, StringRef bName) {
    if (a.getRank() != b.getRank())
      return error() << bName << " must have the rank of " << aName << " ("
                     << a.getRank() << "), got " << b;
    for (unsigned i = 0, e = a.getRank(); i < e; ++i)
      if (failed(agree({dim(a, aName, i), dim(b, bName, i)})))
        return failure();
    return success();
  }

  LogicalResult nonNegativeEps(FloatAttr eps) {
    double value = eps.getValueAsDouble();
    if (!std::isfinite(value) || value < 0)
      return error() << "eps must be finite and >= 0, got " << num(value);
    return success();
  }

private:
  Operation *op;
  std::optional<int64_t> layer;
};

} // namespace

//===----------------------------------------------------------------------===//
// hybrid.weight / hybrid.weight_ref
//===----------------------------------------------------------------------===//

// Weights are checkpoint tensors: fully static, stored as f32/bf16/f16.
static LogicalResult verifyWeightType(Checker &c, Type type, StringRef what) {
  auto ranked = llvm::dyn_cast<RankedTensorType>(type);
  if (!ranked || !ranked.hasStaticShape() ||
      !isWeightElement(ranked.getElementType()))
    return c.error() << what
                     << " must be a statically shaped tensor of f32, bf16 or "
                        "f16, got "
                     << type;
  return success();
}

LogicalResult WeightOp::verify() {
  Checker c(*this);
  return verifyWeightType(c, getType(), "weight type");
}

LogicalResult WeightRefOp::verify() {
  Checker c(*this);
  return verifyWeightType(c, getType(), "result type");
}

LogicalResult
WeightRefOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  Checker c(*this);
  Operation *symbol =
      symbolTable.lookupNearestSymbolFrom(getOperation(), getWeightAttr());
  if (!symbol)
    return c.error() << getWeightAttr()
                     << " does not name a declared hybrid.weight";
  auto decl = llvm::dyn_cast<WeightOp>(symbol);
  if (!decl)
    return c.error() << getWeightAttr() << " names a '"
                     << symbol->getName() << "', not a hybrid.weight";
  if (decl.getType() != getType())
    return c.error() << "result type " << getType()
                     << " does not match the type of weight "
                     << getWeightAttr() << " (" << decl.getType() << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// Compute ops
//===----------------------------------------------------------------------===//

LogicalResult EmbedOp::verify() {
  Checker c(*this);
  auto tokens = llvm::dyn_cast<RankedTensorType>(getTokens().getType());
  if (!tokens || tokens.getRank() != 1 ||
      !llvm::isa<IntegerType>(tokens.getElementType()))
    return c.error() << "tokens must be a 1-D tensor of integers, got "
                     << getTokens().getType();
  RankedTensorType table, result;
  if (failed(c.weight(getTable().getType(), "table", 2, table)) ||
      failed(c.activation(getType(), "result", 2, result)) ||
      failed(c.agree({dim(tokens, "tokens", 0), dim(result, "result", 0)})) ||
      failed(c.agree({dim(table, "table", 1), dim(result, "result", 1)})))
    return failure();
  return success();
}

LogicalResult RMSNormOp::verify() {
  Checker c(*this);
  RankedTensorType x, w, result;
  if (failed(c.activation(getInput().getType(), "x", 2, x)) ||
      failed(c.weight(getWeight().getType(), "w", 1, w)) ||
      failed(c.activation(getType(), "result", 2, result)) ||
      failed(c.agree({dim(x, "x", 1), dim(w, "w", 0)})) ||
      failed(c.sameShape(x, "x", result, "result")) ||
      failed(c.nonNegativeEps(getEpsAttr())))
    return failure();
  return success();
}

LogicalResult LinearOp::verify() {
  Checker c(*this);
  RankedTensorType x, w, result;
  if (failed(c.activation(getInput().getType(), "x", 2, x)) ||
      failed(c.weight(getWeight().getType(), "w", 2, w)) ||
      failed(c.activation(getType(), "result", 2, result)) ||
      failed(c.agree({dim(w, "w", 1), dim(x, "x", 1)})) ||
      failed(c.agree({dim(w, "w", 0), dim(result, "result", 1)})) ||
      failed(c.tokens({{x, "x"}, {result, "result"}})))
    return failure();
  if (Value bias = getBias()) {
    RankedTensorType b;
    if (failed(c.weight(bias.getType(), "b", 1, b)) ||
        failed(c.agree({dim(w, "w", 0), dim(b, "b", 0)})))
      return failure();
  }
  return success();
}

LogicalResult SplitOp::verify() {
  Checker c(*this);
  RankedTensorType input;
  if (failed(c.activation(getInput().getType(), "input", 2, input)))
    return failure();
  ArrayRef<int64_t> sizes = getSizes();
  if (sizes.empty())
    return c.error() << "sizes must not be empty";
  if (sizes.size() != getNumResults())
    return c.error() << "has " << getNumResults() << " results but "
                     << sizes.size() << " sizes";
  int64_t total = 0;
  for (auto [i, size] : llvm::enumerate(sizes)) {
    if (size <= 0)
      return c.error() << "sizes[" << i << "] must be positive, got " << size;
    total += size;
  }
  int64_t width = input.getDimSize(1);
  if (!ShapedType::isDynamic(width) && total != width)
    return c.error() << "sizes sum to " << total
                     << " but input.shape[1] is " << width;
  for (auto [i, result] : llvm::enumerate(getResults())) {
    std::string name = ("result #" + Twine(i)).str();
    RankedTensorType type;
    if (failed(c.activation(result.getType(), name, 2, type)) ||
        failed(c.tokens({{input, "input"}, {type, name}})))
      return failure();
    if (!ShapedType::isDynamic(type.getDimSize(1)) &&
        type.getDimSize(1) != sizes[i])
      return c.error() << name << ".shape[1] (" << type.getDimSize(1)
                       << ") must equal sizes[" << i << "] (" << sizes[i]
                       << ")";
  }
  return success();
}

LogicalResult CausalConv1dOp::verify() {
  Checker c(*this);
  RankedTensorType x, state, w, y, newState;
  if (failed(c.activation(getInput().getType(), "x", 2, x)) ||
      failed(c.activation(getState().getType(), "state", 2, state)) ||
      failed(c.weight(getWeight().getType(), "w", 3, w)) ||
      failed(c.activation(getResult().getType(), "y", 2, y)) ||
      failed(c.activation(getNewState().getType(), "new_state", 2, newState)))
    return failure();
  if (!ShapedType::isDynamic(w.getDimSize(1)) && w.getDimSize(1) != 1)
    return c.error() << "w.shape[1] must be 1 (depthwise [C, 1, K]), got "
                     << w.getDimSize(1);
  int64_t kernel = w.getDimSize(2);
  if (!ShapedType::isDynamic(kernel)) {
    if (kernel < 1)
      return c.error() << "kernel size w.shape[2] must be >= 1, got "
                       << kernel;
    int64_t width = state.getDimSize(0);
    if (!ShapedType::isDynamic(width) && width != kernel - 1)
      return c.error() << "state.shape[0] (" << width
                       << ") must equal kernel size - 1 = " << kernel - 1
                       << " (kernel size from w.shape[2])";
  }
  SmallVector<NamedDim> channels = {dim(x, "x", 1), dim(state, "state", 1),
                                    dim(w, "w", 0), dim(y, "y", 1),
                                    dim(newState, "new_state", 1)};
  if (Value bias = getBias()) {
    RankedTensorType b;
    if (failed(c.weight(bias.getType(), "b", 1, b)))
      return failure();
    channels.push_back(dim(b, "b", 0));
  }
  if (failed(c.agree(channels)) || failed(c.tokens({{x, "x"}, {y, "y"}})) ||
      failed(c.sameShape(state, "state", newState, "new_state")))
    return failure();
  return success();
}

LogicalResult SSMScanOp::verify() {
  Checker c(*this);
  RankedTensorType x, dt, B, C, aLog, D, dtBias, state, y, newState;
  if (failed(c.activation(getInput().getType(), "x", 2, x)) ||
      failed(c.activation(getDt().getType(), "dt", 2, dt)) ||
      failed(c.activation(getB().getType(), "B", 2, B)) ||
      failed(c.activation(getC().getType(), "C", 2, C)) ||
      failed(c.weight(getALog().getType(), "A_log", 1, aLog)) ||
      failed(c.weight(getD().getType(), "D", 1, D)) ||
      failed(c.weight(getDtBias().getType(), "dt_bias", 1, dtBias)) ||
      failed(c.activation(getState().getType(), "state", 3, state)) ||
      failed(c.activation(getResult().getType(), "y", 2, y)) ||
      failed(c.activation(getNewState().getType(), "new_state", 3, newState)))
    return failure();

  int64_t groups = getNumGroups();
  if (groups < 1)
    return c.error() << "num_groups must be >= 1, got " << groups;

  // nh: dt.shape[1] is the primary source, the per-head vectors and the state
  // must agree with it.
  int64_t heads;
  if (failed(c.agree({dim(dt, "dt", 1), dim(aLog, "A_log", 0),
                      dim(D, "D", 0), dim(dtBias, "dt_bias", 0),
                      dim(state, "state", 0)},
                     &heads)))
    return failure();
  int64_t headDim = state.getDimSize(1);
  int64_t dState = state.getDimSize(2);
  bool headsKnown = !ShapedType::isDynamic(heads);

  if (headsKnown && heads % groups != 0)
    return c.error() << "num_heads (" << heads
                     << ") must be divisible by num_groups (" << groups << ")";

  int64_t xWidth = x.getDimSize(1);
  if (!ShapedType::isDynamic(xWidth) && headsKnown) {
    if (!ShapedType::isDynamic(headDim) && xWidth != heads * headDim)
      return c.error() << "x.shape[1] (" << xWidth
                       << ") must equal num_heads * head_dim = " << heads
                       << " * " << headDim << " = " << heads * headDim
                       << " (head_dim from state.shape[1])";
    if (xWidth % heads != 0)
      return c.error() << "x.shape[1] (" << xWidth
                       << ") must be divisible by num_heads (" << heads << ")";
  }

  for (auto [type, name] : {std::pair<RankedTensorType, StringRef>{B, "B"},
                            std::pair<RankedTensorType, StringRef>{C, "C"}}) {
    int64_t width = type.getDimSize(1);
    if (ShapedType::isDynamic(width))
      continue;
    if (!ShapedType::isDynamic(dState) && width != groups * dState)
      return c.error() << name << ".shape[1] (" << width
                       << ") must equal num_groups * d_state = " << groups
                       << " * " << dState << " = " << groups * dState
                       << " (d_state from state.shape[2])";
    if (width % groups != 0)
      return c.error() << name << ".shape[1] (" << width
                       << ") must be divisible by num_groups (" << groups
                       << ")";
  }

  if (failed(c.agree({dim(B, "B", 1), dim(C, "C", 1)})) ||
      failed(c.tokens({{x, "x"}, {dt, "dt"}, {B, "B"}, {C, "C"}, {y, "y"}})) ||
      failed(c.sameShape(x, "x", y, "y")) ||
      failed(c.sameShape(state, "state", newState, "new_state")))
    return failure();

  std::optional<double> lo, hi;
  if (auto attr = getDtMinAttr())
    lo = attr.getValueAsDouble();
  if (auto attr = getDtMaxAttr())
    hi = attr.getValueAsDouble();
  if (lo && (std::isnan(*lo) || *lo < 0))
    return c.error() << "dt_min must be >= 0, got " << num(*lo);
  if (hi && (std::isnan(*hi) || *hi < 0))
    return c.error() << "dt_max must be >= 0, got " << num(*hi);
  if (lo && hi && *lo > *hi)
    return c.error() << "dt_min (" << num(*lo) << ") must not exceed dt_max ("
                     << num(*hi) << ")";
  return success();
}

LogicalResult GatedRMSNormOp::verify() {
  Checker c(*this);
  RankedTensorType y, z, w, result;
  if (failed(c.activation(getInput().getType(), "y", 2, y)) ||
      failed(c.activation(getGate().getType(), "z", 2, z)) ||
      failed(c.weight(getWeight().getType(), "w", 1, w)) ||
      failed(c.activation(getType(), "result", 2, result)) ||
      failed(c.nonNegativeEps(getEpsAttr())))
    return failure();
  int64_t width;
  if (failed(c.agree({dim(y, "y", 1), dim(z, "z", 1), dim(w, "w", 0),
                      dim(result, "result", 1)},
                     &width)) ||
      failed(c.tokens({{y, "y"}, {z, "z"}, {result, "result"}})))
    return failure();
  int64_t groupSize = getGroupSize();
  if (groupSize < 1)
    return c.error() << "group_size must be >= 1, got " << groupSize;
  if (!ShapedType::isDynamic(width) && width % groupSize != 0)
    return c.error() << "width (" << width
                     << ") must be divisible by group_size (" << groupSize
                     << ")";
  return success();
}

LogicalResult AttentionOp::verify() {
  Checker c(*this);
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads();
  if (heads < 1 || kvHeads < 1)
    return c.error() << "num_heads (" << heads << ") and num_kv_heads ("
                     << kvHeads << ") must be >= 1";
  if (heads % kvHeads != 0)
    return c.error() << "num_heads (" << heads
                     << ") must be divisible by num_kv_heads (" << kvHeads
                     << ")";
  if (!std::isfinite(getScale().convertToDouble()))
    return c.error() << "scale must be finite";

  RankedTensorType q, k, v, kCache, vCache, out, newK, newV;
  if (failed(c.activation(getQ().getType(), "q", 2, q)) ||
      failed(c.activation(getK().getType(), "k", 2, k)) ||
      failed(c.activation(getV().getType(), "v", 2, v)) ||
      failed(c.activation(getKCache().getType(), "k_cache", 3, kCache)) ||
      failed(c.activation(getVCache().getType(), "v_cache", 3, vCache)) ||
      failed(c.activation(getResult().getType(), "out", 2, out)) ||
      failed(c.activation(getNewKCache().getType(), "new_k_cache", 3, newK)) ||
      failed(c.activation(getNewVCache().getType(), "new_v_cache", 3, newV)))
    return failure();

  // Cache layout [kv, length, hd].
  int64_t headDim;
  if (failed(c.agree({NamedDim{kvHeads, "num_kv_heads"},
                      dim(kCache, "k_cache", 0), dim(vCache, "v_cache", 0),
                      dim(newK, "new_k_cache", 0),
                      dim(newV, "new_v_cache", 0)})) ||
      failed(c.agree({dim(kCache, "k_cache", 2), dim(vCache, "v_cache", 2),
                      dim(newK, "new_k_cache", 2),
                      dim(newV, "new_v_cache", 2)},
                     &headDim)) ||
      failed(c.agree({dim(kCache, "k_cache", 1), dim(vCache, "v_cache", 1)})) ||
      failed(c.agree({dim(newK, "new_k_cache", 1),
                      dim(newV, "new_v_cache", 1)})) ||
      failed(c.tokens({{q, "q"}, {k, "k"}, {v, "v"}, {out, "out"}})) ||
      failed(c.agree({dim(q, "q", 1), dim(out, "out", 1)})))
    return failure();

  int64_t qWidth = q.getDimSize(1);
  if (ShapedType::isDynamic(headDim) && !ShapedType::isDynamic(qWidth)) {
    if (qWidth % heads != 0)
      return c.error() << "q.shape[1] (" << qWidth
                       << ") must be divisible by num_heads (" << heads << ")";
    headDim = qWidth / heads;
  }
  if (!ShapedType::isDynamic(headDim)) {
    if (!ShapedType::isDynamic(qWidth) && qWidth != heads * headDim)
      return c.error() << "q.shape[1] (" << qWidth
                       << ") must equal num_heads * head_dim = " << heads
                       << " * " << headDim << " = " << heads * headDim;
    for (auto [type, name] :
         {std::pair<RankedTensorType, StringRef>{k, "k"},
          std::pair<RankedTensorType, StringRef>{v, "v"}}) {
      int64_t width = type.getDimSize(1);
      if (!ShapedType::isDynamic(width) && width != kvHeads * headDim)
        return c.error() << name << ".shape[1] (" << width
                         << ") must equal num_kv_heads * head_dim = "
                         << kvHeads << " * " << headDim << " = "
                         << kvHeads * headDim;
    }
  }

  // The new caches hold the old positions followed by this call's tokens.
  int64_t oldLen = kCache.getDimSize(1), newLen = newK.getDimSize(1),
          tokens = q.getDimSize(0);
  if (!ShapedType::isDynamic(oldLen) && !ShapedType::isDynamic(newLen) &&
      !ShapedType::isDynamic(tokens) && newLen != oldLen + tokens)
    return c.error() << "new_k_cache.shape[1] (" << newLen
                     << ") must equal k_cache.shape[1] + tokens = " << oldLen
                     << " + " << tokens << " = " << oldLen + tokens;
  return success();
}

LogicalResult MoEOp::verify() {
  Checker c(*this);
  RankedTensorType f, router, wIn, wOut, result;
  if (failed(c.activation(getInput().getType(), "f", 2, f)) ||
      failed(c.weight(getRouter().getType(), "router", 2, router)) ||
      failed(c.weight(getWIn().getType(), "w_in", 3, wIn)) ||
      failed(c.weight(getWOut().getType(), "w_out", 3, wOut)) ||
      failed(c.activation(getType(), "result", 2, result)))
    return failure();
  int64_t experts;
  if (failed(c.agree({dim(router, "router", 0), dim(wIn, "w_in", 0),
                      dim(wOut, "w_out", 0)},
                     &experts)) ||
      failed(c.agree({dim(f, "f", 1), dim(router, "router", 1),
                      dim(wIn, "w_in", 2), dim(wOut, "w_out", 1),
                      dim(result, "result", 1)})) ||
      failed(c.tokens({{f, "f"}, {result, "result"}})))
    return failure();
  int64_t inRows = wIn.getDimSize(1), inner = wOut.getDimSize(2);
  if (!ShapedType::isDynamic(inRows)) {
    if (inRows % 2 != 0)
      return c.error() << "w_in.shape[1] (" << inRows
                       << ") must be even (gate rows then up rows)";
    if (!ShapedType::isDynamic(inner) && inRows != 2 * inner)
      return c.error() << "w_in.shape[1] (" << inRows
                       << ") must equal 2 * w_out.shape[2] = 2 * " << inner
                       << " = " << 2 * inner;
  }
  int64_t topK = getTopK();
  if (topK < 1)
    return c.error() << "top_k must be >= 1, got " << topK;
  if (!ShapedType::isDynamic(experts) && topK > experts)
    return c.error() << "top_k (" << topK
                     << ") must not exceed the number of experts ("
                     << experts << ")";
  return success();
}

LogicalResult SwiGLUMLPOp::verify() {
  Checker c(*this);
  RankedTensorType f, wIn, wOut, result;
  if (failed(c.activation(getInput().getType(), "f", 2, f)) ||
      failed(c.weight(getWIn().getType(), "w_in", 2, wIn)) ||
      failed(c.weight(getWOut().getType(), "w_out", 2, wOut)) ||
      failed(c.activation(getType(), "result", 2, result)) ||
      failed(c.agree({dim(f, "f", 1), dim(wIn, "w_in", 1),
                      dim(wOut, "w_out", 0), dim(result, "result", 1)})) ||
      failed(c.tokens({{f, "f"}, {result, "result"}})))
    return failure();
  int64_t inRows = wIn.getDimSize(0), inner = wOut.getDimSize(1);
  if (!ShapedType::isDynamic(inRows)) {
    if (inRows % 2 != 0)
      return c.error() << "w_in.shape[0] (" << inRows
                       << ") must be even (gate rows then up rows)";
    if (!ShapedType::isDynamic(inner) && inRows != 2 * inner)
      return c.error() << "w_in.shape[0] (" << inRows
                       << ") must equal 2 * w_out.shape[1] = 2 * " << inner
                       << " = " << 2 * inner;
  }
  return success();
}

// Both elementwise ops take and produce one activation type; exact type
// equality (not just compatible shapes) keeps folding to an operand valid.
static LogicalResult verifyElementwise(Checker &c, Type lhs, StringRef lhsName,
                                       Type rhs, StringRef rhsName,
                                       Type result) {
  RankedTensorType type;
  if (failed(c.activation(lhs, lhsName, -1, type)))
    return failure();
  if (rhs != lhs)
    return c.error() << rhsName << " type " << rhs << " must equal "
                     << lhsName << " type " << lhs;
  if (result != lhs)
    return c.error() << "result type " << result << " must equal " << lhsName
                     << " type " << lhs;
  return success();
}

LogicalResult AddOp::verify() {
  Checker c(*this);
  return verifyElementwise(c, getLhs().getType(), "lhs", getRhs().getType(),
                           "rhs", getType());
}

LogicalResult ResidualAddOp::verify() {
  Checker c(*this);
  if (!std::isfinite(getMultiplier().convertToDouble()))
    return c.error() << "multiplier must be finite";
  return verifyElementwise(c, getInput().getType(), "x",
                           getBranch().getType(), "branch", getType());
}

LogicalResult LMHeadOp::verify() {
  Checker c(*this);
  RankedTensorType x, normW, w, result;
  if (failed(c.activation(getInput().getType(), "x", 2, x)) ||
      failed(c.weight(getNormWeight().getType(), "norm_w", 1, normW)) ||
      failed(c.weight(getWeight().getType(), "w", 2, w)) ||
      failed(c.activation(getType(), "result", 2, result)) ||
      failed(c.agree({dim(x, "x", 1), dim(normW, "norm_w", 0),
                      dim(w, "w", 1)})) ||
      failed(c.agree({dim(w, "w", 0), dim(result, "result", 1)})) ||
      failed(c.tokens({{x, "x"}, {result, "result"}})) ||
      failed(c.nonNegativeEps(getEpsAttr())))
    return failure();
  double scaling = getLogitsScaling().convertToDouble();
  if (!std::isfinite(scaling) || scaling == 0)
    return c.error() << "logits_scaling must be finite and non-zero, got "
                     << num(scaling);
  return success();
}
