//===- JsonTextTest.cpp - JSON as Python's json module reads and writes it ===//
#include "hybridc/Chat/JsonText.h"

#include <gtest/gtest.h>

using namespace hybridc::jinja;

namespace {
std::string roundTrip(const std::string &text, const JsonDumpOptions &o = {}) {
  llvm::Expected<JinjaValue> v = parseJson(text, "test");
  if (!v)
    return "ERROR: " + llvm::toString(v.takeError());
  llvm::Expected<std::string> out = dumpJson(*v, o);
  if (!out)
    return "ERROR: " + llvm::toString(out.takeError());
  return *out;
}
} // namespace

TEST(JsonText, KeepsKeyOrderAndNumberKinds) {
  EXPECT_EQ(roundTrip(R"({"z":1,"a":1.0,"m":[1e5,-0.0,1E-7,12345678901234567]})"),
            R"({"z": 1, "a": 1.0, "m": [100000.0, -0.0, 1e-07, 12345678901234567]})");
  EXPECT_EQ(roundTrip(R"({"a":1,"a":2,"b":3})"), R"({"a": 2, "b": 3})");
  EXPECT_EQ(roundTrip("[NaN, Infinity, -Infinity]"), "[NaN, Infinity, -Infinity]");
}

TEST(JsonText, StringsEscapeAsJsonDumps) {
  EXPECT_EQ(roundTrip(R"(["\u00e9\ud83d\ude00", "\"\\/\b\f\n\r\t\u0001\u007f"])"),
            "[\"é😀\", \"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\x7f\"]");
  JsonDumpOptions ascii;
  ascii.ensureAscii = true;
  EXPECT_EQ(roundTrip(R"("é😀")", ascii), R"("\u00e9\ud83d\ude00")");
}

TEST(JsonText, Indentation) {
  JsonDumpOptions o;
  o.indent = "  ";
  EXPECT_EQ(roundTrip(R"({"a":[],"b":{},"c":[1,{"d":null}]})", o),
            "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"d\": null\n    }\n  ]\n}");
}

TEST(JsonText, ErrorsNameThePlace) {
  for (const char *bad : {"{\"a\": }", "[1, 2", "\"\\ud800\"", "99999999999999999999", "{} x",
                          "\"a\nb\"", "[01]"}) {
    llvm::Expected<JinjaValue> v = parseJson(bad, "in.json");
    ASSERT_FALSE(v) << bad;
    std::string msg = llvm::toString(v.takeError());
    EXPECT_NE(msg.find("in.json: line "), std::string::npos) << msg;
    EXPECT_NE(msg.find("column "), std::string::npos) << msg;
  }
  std::string deep(600, '[');
  llvm::Expected<JinjaValue> v = parseJson(deep, "deep");
  ASSERT_FALSE(v);
  EXPECT_NE(llvm::toString(v.takeError()).find("deeper than 512"), std::string::npos);
}
