// Experiment files: every kind of bad input gives a ConfigError naming the file and the JSON
// path; the committed experiments parse; defaults are filled in; to_json() round-trips.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "mlpbench/errors.h"
#include "mlpbench/experiment.h"
#include "mlpbench/json_errors.h"
#include "mlpbench/weights.h"
#include "test_support.h"

namespace test_experiment {

using mlpbench::ConfigError;
using mlpbench::Experiment;
using nlohmann::json;
using enum mlpbench::Activation;
using mlpbench::OptimizerKind;

namespace {

const std::string kSource = "experiments/bad.json";

// A valid experiment that the bad cases below change in one place.
json base() {
  return test_support::parse_json(R"({
    "name": "base",
    "description": "a valid experiment",
    "dataset": "mnist",
    "model": [{"units": 64, "activation": "relu"}, {"units": 10, "activation": "softmax"}],
    "loss": "sparse_categorical_crossentropy",
    "optimizer": {"name": "adam", "learning_rate": 0.001},
    "epochs": 5, "batch_size": 32, "shuffle": true, "seed": 1, "threads": 2,
    "reference": {"test_accuracy": 0.98, "source": "somewhere"}
  })");
}

json sgd_base() {
  json j = base();
  j["optimizer"] = {{"name", "sgd"}, {"learning_rate", 0.1}, {"momentum", 0.9}};
  return j;
}

// `base()` (or `from`) with the value at a JSON pointer replaced (or added).
std::string with(const std::string& pointer, const json& value, json from = base()) {
  from[json::json_pointer(pointer)] = value;
  return test_support::dump_json(from);
}

// `base()` without the key at a JSON pointer.
std::string without(const std::string& pointer, json from = base()) {
  const json::json_pointer p(pointer);
  from[p.parent_pointer()].erase(p.back());
  return test_support::dump_json(from);
}

// The ConfigError message parsing `text` gives, or a marker saying what happened instead.
std::string error_of(const std::string& text) {
  try {
    mlpbench::parse_experiment(text, kSource);
  } catch (const ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<not a ConfigError: ") + e.what() + ">";
  }
  return "<no error>";
}

std::string validate_error_of(const Experiment& e) {
  try {
    mlpbench::validate_experiment(e, kSource);
  } catch (const ConfigError& err) {
    return err.what();
  }
  return "<no error>";
}

struct BadCase {
  std::string label;
  std::string text;
  std::string path;        // expected JSON pointer; "" for whole-file errors
  std::string contains;    // a further piece the message must hold ("" = none)
  std::string exact = {};  // if set, the whole message
};

std::vector<BadCase> bad_cases() {
  const std::string good = test_support::dump_json(base(), 2);
  json many_layers = json::array();
  for (int i = 0; i < 64; ++i) many_layers.push_back({{"units", 8}, {"activation", "relu"}});
  many_layers.push_back({{"units", 10}, {"activation", "softmax"}});
  const std::string deep = R"({"name": )" + std::string(100, '[');
  std::string deep_path = "/name";
  for (int i = 0; i < 63; ++i) deep_path += "/0";
  std::string big_seed = test_support::dump_json(base());
  big_seed.replace(big_seed.find("\"seed\":1"), 8, "\"seed\":18446744073709551616");

  return {
      // --- not JSON, or not an object
      {"malformed", R"({"name": "x",, "epochs": 1})", "", "invalid JSON at line 1, column 14"},
      {"malformed multi-line", "{\n  \"name\": \"x\"\n  \"epochs\": 1\n}", "",
       "invalid JSON at line 3, column"},
      {"truncated", good.substr(0, good.size() / 2), "", "is the file truncated?"},
      {"truncated after a comma", good.substr(0, good.find("\"epochs\"")), "",
       "unexpected end of input; expected string literal (is the file truncated?)"},
      {"empty", "", "", "",
       kSource + ": the file is empty (expected a JSON object describing an "
                 "experiment)"},
      {"whitespace only", " \n\t\n", "", "the file is empty"},
      {"comment", "// an experiment\n" + good, "", "invalid JSON at line 1, column"},
      {"trailing comma", R"({"name": "x",})", "", "unexpected '}'; expected string literal"},
      {"number overflow", "{\n  \"epochs\": 1e999}", "",
       "invalid JSON at line 2, column 13: number overflow parsing '1e999' (beyond the range of a double)"},
      // Control characters in a key: the message names it whole, printable.
      {"NUL in a key", "{\"\\u0000x\": 1}", "/\\u0000x", "unknown key"},
      {"escape in a key", "{\"\\u001b[31mred\": 1}", "/\\u001b[31mred", "unknown key"},
      {"invalid UTF-8", "{\"name\": \"\xff\"}", "", "ill-formed UTF-8 byte; last read: '\"\\xFF'"},
      {"top level array", "[1, 2]", "", "",
       kSource + ": expected a JSON object at the top level, got [1,2]"},
      {"top level string", R"("mlp")", "", "got \"mlp\""},
      {"top level null", "null", "", "got null"},
      {"nested too deep", deep, deep_path, "nested more than 64 levels"},
      {"duplicate key", R"({"epochs": 1, "epochs": 2})", "/epochs", "",
       kSource + ": /epochs: duplicate key"},
      {"duplicate layer key", R"({"model": [{"units": 1, "units": 2}]})", "/model/0/units",
       "duplicate key"},

      // --- unknown keys, at every level
      {"typo top", with("/optimzer", 1), "/optimzer", "",
       kSource + R"(: /optimzer: unknown key (did you mean "optimizer"?))"},
      {"typo epochs", with("/epoch", 3), "/epoch", R"(did you mean "epochs"?)"},
      {"typo transposed", with("/batch_szie", 3), "/batch_szie", R"(did you mean "batch_size"?)"},
      {"typo case", with("/Seed", 3), "/Seed", R"(did you mean "seed"?)"},
      {"unknown top", with("/metrics", json::array({"accuracy"})), "/metrics",
       "unknown key (expected one of: name, description, dataset, model"},
      {"unknown key escaped", with("/a~1b", 1), "/a~1b", "unknown key"},
      {"typo optimizer key", with("/optimizer/learningrate", 0.1), "/optimizer/learningrate",
       R"(did you mean "learning_rate"?)"},
      {"momentum under adam", with("/optimizer/momentum", 0.9), "/optimizer/momentum",
       "unknown key for the adam optimizer"},
      {"beta_1 under sgd", with("/optimizer/beta_1", 0.9, sgd_base()), "/optimizer/beta_1",
       "unknown key for the sgd optimizer"},
      {"typo layer key", with("/model/0/unit", 64), "/model/0/unit", R"(did you mean "units"?)"},
      {"unknown layer key", with("/model/1/kernel_initializer", "zeros"),
       "/model/1/kernel_initializer", "unknown key (expected one of: units, activation)"},
      {"typo reference key", with("/reference/sorce", "x"), "/reference/sorce",
       R"(did you mean "source"?)"},

      // --- required keys
      {"no name", without("/name"), "/name", "required key is missing"},
      {"no dataset", without("/dataset"), "/dataset", "required key is missing"},
      {"no model", without("/model"), "/model", "required key is missing"},
      {"no loss", without("/loss"), "/loss", "required key is missing"},
      {"no optimizer", without("/optimizer"), "/optimizer", "required key is missing"},
      {"no epochs", without("/epochs"), "/epochs", "",
       kSource + ": /epochs: required key is missing (expected an integer from 1 to 100000)"},
      {"no batch_size", without("/batch_size"), "/batch_size", "required key is missing"},
      {"no optimizer name", without("/optimizer/name"), "/optimizer/name",
       "required key is missing"},
      {"no units", without("/model/0/units"), "/model/0/units", "required key is missing"},
      {"no activation", without("/model/1/activation"), "/model/1/activation",
       "required key is missing"},
      {"no test_accuracy", without("/reference/test_accuracy"), "/reference/test_accuracy",
       "required key is missing"},

      // --- learning rate and the other optimizer numbers
      {"lr string", with("/optimizer/learning_rate", "fast"), "/optimizer/learning_rate", "",
       kSource + R"(: /optimizer/learning_rate: expected a positive number, got "fast")"},
      {"lr zero", with("/optimizer/learning_rate", 0), "/optimizer/learning_rate",
       "expected a positive number, got 0"},
      {"lr negative", with("/optimizer/learning_rate", -0.1), "/optimizer/learning_rate",
       "got -0.1"},
      {"lr too big", with("/optimizer/learning_rate", 11), "/optimizer/learning_rate",
       "expected a positive number no greater than 10, got 11"},
      {"lr bool", with("/optimizer/learning_rate", true), "/optimizer/learning_rate", "got true"},
      {"lr null", with("/optimizer/learning_rate", nullptr), "/optimizer/learning_rate",
       "got null"},
      {"beta_1 one", with("/optimizer/beta_1", 1.0), "/optimizer/beta_1",
       "expected a number in [0, 1), got 1.0"},
      {"beta_2 negative", with("/optimizer/beta_2", -0.5), "/optimizer/beta_2", "got -0.5"},
      {"epsilon zero", with("/optimizer/epsilon", 0), "/optimizer/epsilon",
       "expected a positive number, got 0"},
      {"epsilon string", with("/optimizer/epsilon", "1e-7"), "/optimizer/epsilon", "got \"1e-7\""},
      {"momentum one", with("/optimizer/momentum", 1, sgd_base()), "/optimizer/momentum",
       "expected a number in [0, 1), got 1"},
      {"nesterov string", with("/optimizer/nesterov", "true", sgd_base()), "/optimizer/nesterov",
       "expected true or false, got \"true\""},
      {"optimizer number", with("/optimizer", 5), "/optimizer", "got 5"},
      {"optimizer array", with("/optimizer", json::array()), "/optimizer", "got []"},
      {"optimizer unknown string", with("/optimizer", "rmsprop"), "/optimizer",
       R"(expected "adam" or "sgd", got "rmsprop")"},
      {"optimizer name case", with("/optimizer/name", "Adam"), "/optimizer/name",
       R"(did you mean "adam"?)"},
      {"optimizer name null", with("/optimizer/name", nullptr), "/optimizer/name", "got null"},

      // --- integers
      {"epochs float", with("/epochs", 2.5), "/epochs", "",
       kSource + ": /epochs: expected an integer from 1 to 100000, got 2.5"},
      {"epochs integral float", with("/epochs", 5.0), "/epochs", "got 5.0"},
      {"epochs zero", with("/epochs", 0), "/epochs", "got 0"},
      {"epochs negative", with("/epochs", -3), "/epochs", "got -3"},
      {"epochs too many", with("/epochs", 100001), "/epochs", "got 100001"},
      {"epochs huge", with("/epochs", std::numeric_limits<uint64_t>::max()), "/epochs",
       "got 18446744073709551615"},
      {"epochs string", with("/epochs", "5"), "/epochs", "got \"5\""},
      {"epochs bool", with("/epochs", true), "/epochs", "got true"},
      {"batch_size zero", with("/batch_size", 0), "/batch_size",
       "expected an integer from 1 to 65536, got 0"},
      {"batch_size too big", with("/batch_size", 65537), "/batch_size", "got 65537"},
      {"batch_size null", with("/batch_size", nullptr), "/batch_size", "got null"},
      {"threads negative", with("/threads", -1), "/threads",
       "expected an integer from 0 to 1024 (0 = all cores), got -1"},
      {"threads too many", with("/threads", 1025), "/threads", "got 1025"},
      {"threads float", with("/threads", 1.5), "/threads", "got 1.5"},
      {"seed negative", with("/seed", -1), "/seed",
       "expected an integer from 0 to 18446744073709551615, got -1"},
      {"seed float", with("/seed", 1.5), "/seed", "got 1.5"},
      {"seed string", with("/seed", "42"), "/seed", "got \"42\""},
      {"seed 2^64", big_seed, "/seed", "got 1.8446744"},
      {"shuffle string", with("/shuffle", "yes"), "/shuffle",
       "expected true or false, got \"yes\""},
      {"shuffle number", with("/shuffle", 1), "/shuffle", "got 1"},

      // --- strings
      {"name empty", with("/name", ""), "/name", "got \"\""},
      {"name space", with("/name", "my run"), "/name", "usable as a folder name"},
      {"name path", with("/name", "../escape"), "/name", "got \"../escape\""},
      {"name dotdot", with("/name", ".."), "/name", "got \"..\""},
      {"name too long", with("/name", std::string(129, 'a')), "/name", "1 to 128 characters"},
      {"name number", with("/name", 5), "/name", "got 5"},
      {"description number", with("/description", 5), "/description", "expected a string, got 5"},
      {"dataset unknown", with("/dataset", "cifar10"), "/dataset",
       R"(expected "mnist" or "fashion-mnist", got "cifar10")"},
      {"dataset case", with("/dataset", "MNIST"), "/dataset", R"(did you mean "mnist"?)"},
      {"loss unknown", with("/loss", "mse"), "/loss",
       R"(expected "sparse_categorical_crossentropy" or "categorical_crossentropy", got "mse")"},

      // --- the model
      {"model object", with("/model", json::object()), "/model", "got {}"},
      {"model empty", with("/model", json::array()), "/model", "got []"},
      {"layer number", with("/model/0", 512), "/model/0", "expected a layer object"},
      {"units zero", with("/model/0/units", 0), "/model/0/units",
       "expected an integer from 1 to 65536, got 0"},
      {"units too big", with("/model/0/units", 65537), "/model/0/units", "got 65537"},
      {"units float", with("/model/0/units", 12.5), "/model/0/units", "got 12.5"},
      {"units string", with("/model/0/units", "64"), "/model/0/units", "got \"64\""},
      {"activation unknown", with("/model/0/activation", "tanh"), "/model/0/activation",
       R"(expected "relu", "linear" or "softmax", got "tanh")"},
      {"softmax hidden", with("/model/0/activation", "softmax"), "/model/0/activation",
       "only allowed on the output layer"},
      {"output relu", with("/model/1/activation", "relu"), "/model/1/activation",
       "the output layer must use \"softmax\", got \"relu\""},
      {"output units", with("/model/1/units", 12), "/model/1/units", "",
       kSource + ": /model/1/units: the output layer must have 10 units (one per class of "
                 "mnist), got 12"},
      {"output units fashion",
       with("/model/1/units", 5, test_support::parse_json(with("/dataset", "fashion-mnist"))), "/model/1/units",
       "one per class of fashion-mnist), got 5"},
      {"too many layers", with("/model", many_layers), "/model",
       "expected at most 64 layers, got 65"},
      {"too many parameters", with("/model", test_support::parse_json(R"([{"units": 65536, "activation": "relu"},
                                      {"units": 65536, "activation": "relu"},
                                      {"units": 10, "activation": "softmax"}])")),
       "/model", "expected at most 2147483648 (2^31) parameters in total, got 4347133962"},

      // --- the reference
      {"reference number", with("/reference", 0.98), "/reference", "got 0.98"},
      {"reference null", with("/reference", nullptr), "/reference", "got null"},
      {"accuracy above 1", with("/reference/test_accuracy", 98.09), "/reference/test_accuracy",
       "expected a number in [0, 1], got 98.09"},
      {"accuracy string", with("/reference/test_accuracy", "98%"), "/reference/test_accuracy",
       "got \"98%\""},
      {"source number", with("/reference/source", 5), "/reference/source", "got 5"},
  };
}

void check_layers(const Experiment& e,
                  const std::vector<std::pair<int, mlpbench::Activation>>& layers) {
  REQUIRE(e.model.size() == layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    CHECK(e.model[i].units == layers[i].first);
    CHECK(e.model[i].activation == layers[i].second);
  }
}

// parse(to_json(e)) == e, through the json value and through its text.
void check_round_trip(const Experiment& e) {
  const json j = e.to_json();
  const Experiment again = mlpbench::parse_experiment(j, "round-trip");
  CHECK(again == e);
  CHECK(again.to_json() == j);
  const Experiment from_text = mlpbench::parse_experiment(test_support::dump_json(j, 2), "round-trip");
  CHECK(from_text == e);
}

}  // namespace

TEST_CASE("bad experiment files give a ConfigError naming the file and the JSON path",
          "[experiment]") {
  const auto cases = bad_cases();
  CHECK(cases.size() >= 30);
  for (const auto& c : cases) {
    INFO("case: " << c.label << "\ninput: " << c.text.substr(0, 300));
    const std::string message = error_of(c.text);
    INFO("message: " << message);
    CHECK(message.rfind(kSource + ": ", 0) == 0);
    if (c.path.empty()) {
      // A whole-file error: no JSON path after the file name.
      CHECK(message.rfind(kSource + ": /", 0) != 0);
    } else {
      CHECK(message.rfind(kSource + ": " + c.path + ": ", 0) == 0);
    }
    if (!c.contains.empty()) CHECK(message.find(c.contains) != std::string::npos);
    if (c.label.rfind("truncated", 0) != 0) CHECK(message.find("truncated") == std::string::npos);
    CHECK(std::none_of(message.begin(), message.end(),
                       [](char ch) { return static_cast<unsigned char>(ch) < 0x20; }));
    if (!c.exact.empty()) CHECK(message == c.exact);
  }
}

TEST_CASE("the committed experiments parse", "[experiment]") {
  const std::string dir = test_support::source_dir() + "/experiments/";

  SECTION("mlp512_5ep is the Keras reference notebook") {
    const Experiment e = mlpbench::load_experiment(dir + "mlp512_5ep.json");
    CHECK(e.name == "mlp512_5ep");
    CHECK(e.dataset == "mnist");
    check_layers(e, {{512, kRelu}, {10, kSoftmax}});
    CHECK(e.loss == "sparse_categorical_crossentropy");
    CHECK(e.optimizer.kind == OptimizerKind::kAdam);
    CHECK(e.optimizer.learning_rate == 0.001);
    CHECK(e.optimizer.beta_1 == 0.9);
    CHECK(e.optimizer.beta_2 == 0.999);
    CHECK(e.optimizer.epsilon == 1e-7);
    CHECK(e.epochs == 5);
    CHECK(e.batch_size == 32);
    CHECK(e.shuffle);
    CHECK(e.seed == 1);
    CHECK(e.threads == 2);
    REQUIRE(e.reference);
    CHECK(e.reference->test_accuracy == 0.9809);
    CHECK(e.reference->source.find("Keras notebook") != std::string::npos);
    check_round_trip(e);
  }
  SECTION("mlp64_32_100ep") {
    const Experiment e = mlpbench::load_experiment(dir + "mlp64_32_100ep.json");
    CHECK(e.name == "mlp64_32_100ep");
    check_layers(e, {{64, kRelu}, {32, kRelu}, {10, kSoftmax}});
    CHECK(e.loss == "categorical_crossentropy");
    CHECK(e.optimizer.kind == OptimizerKind::kAdam);
    CHECK(e.epochs == 100);
    CHECK(e.batch_size == 32);
    CHECK(e.threads == 2);
    CHECK_FALSE(e.reference);
    check_round_trip(e);
  }
  SECTION("the Fashion-MNIST twins match their MNIST originals but for name and dataset") {
    for (const std::string name : {"mlp512_5ep", "mlp64_32_100ep"}) {
      INFO(name);
      const Experiment mnist = mlpbench::load_experiment(dir + name + ".json");
      const Experiment fashion = mlpbench::load_experiment(dir + "fashion_" + name + ".json");
      CHECK(fashion.name == "fashion_" + name);
      CHECK(fashion.dataset == "fashion-mnist");
      CHECK_FALSE(fashion.reference);
      CHECK(fashion.model == mnist.model);
      CHECK(fashion.loss == mnist.loss);
      CHECK(fashion.optimizer == mnist.optimizer);
      CHECK(fashion.epochs == mnist.epochs);
      CHECK(fashion.batch_size == mnist.batch_size);
      CHECK(fashion.seed == mnist.seed);
      check_round_trip(fashion);
    }
  }
  SECTION("smoke is small and quick") {
    const Experiment e = mlpbench::load_experiment(dir + "smoke.json");
    CHECK(e.name == "smoke");
    CHECK(e.dataset == "mnist");
    check_layers(e, {{32, kRelu}, {10, kSoftmax}});
    CHECK(e.epochs == 1);
    CHECK(e.batch_size == 32);
    CHECK(e.seed == 1);
    check_round_trip(e);
  }
}

TEST_CASE("optional keys get their defaults", "[experiment]") {
  const std::string minimal = R"({
    "name": "minimal", "dataset": "fashion-mnist",
    "model": [{"units": 10, "activation": "softmax"}],
    "loss": "categorical_crossentropy", "optimizer": "adam", "epochs": 3, "batch_size": 7
  })";
  const Experiment e = mlpbench::parse_experiment(minimal, "minimal.json");
  CHECK(e.description.empty());
  CHECK(e.shuffle);
  CHECK(e.seed == 1);
  CHECK(e.threads == 0);
  CHECK_FALSE(e.reference);
  CHECK(e.optimizer == mlpbench::OptimizerSpec{OptimizerKind::kAdam, 1e-3, 0.9, 0.999, 1e-7, 0.0, false, std::nullopt});

  const json j = e.to_json();
  CHECK(j["description"] == "");
  CHECK(j["shuffle"] == true);
  CHECK(j["seed"] == 1);
  CHECK(j["threads"] == 0);
  CHECK_FALSE(j.contains("reference"));
  CHECK(j["optimizer"] == test_support::parse_json(R"({"name": "adam", "learning_rate": 0.001,
                                         "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7})"));
  check_round_trip(e);

  SECTION("sgd as a string gets Keras's SGD defaults") {
    const Experiment s = mlpbench::parse_experiment(with("/optimizer", "sgd"), kSource);
    CHECK(s.optimizer.kind == OptimizerKind::kSgd);
    CHECK(s.optimizer.learning_rate == 0.01);
    CHECK(s.optimizer.momentum == 0.0);
    CHECK_FALSE(s.optimizer.nesterov);
    CHECK(s.to_json()["optimizer"] ==
          test_support::parse_json(R"({"name": "sgd", "learning_rate": 0.01, "momentum": 0.0,
                          "nesterov": false})"));
    check_round_trip(s);
  }
  SECTION("an sgd object keeps what it sets and defaults the rest") {
    const Experiment s = mlpbench::parse_experiment(
        with("/optimizer", test_support::parse_json(R"({"name": "sgd", "momentum": 0.9, "nesterov": true})")),
        kSource);
    CHECK(s.optimizer.learning_rate == 0.01);
    CHECK(s.optimizer.momentum == 0.9);
    CHECK(s.optimizer.nesterov);
    check_round_trip(s);
  }
  SECTION("a reference source is optional") {
    const Experiment r = mlpbench::parse_experiment(without("/reference/source"), kSource);
    REQUIRE(r.reference);
    CHECK(r.reference->test_accuracy == 0.98);
    CHECK(r.reference->source.empty());
    check_round_trip(r);
  }
}

TEST_CASE("edge values that are allowed", "[experiment]") {
  SECTION("the largest seed") {
    const Experiment e =
        mlpbench::parse_experiment(with("/seed", std::numeric_limits<uint64_t>::max()), kSource);
    CHECK(e.seed == std::numeric_limits<uint64_t>::max());
    CHECK(e.to_json()["seed"].is_number_unsigned());
    CHECK(test_support::dump_json(e.to_json()).find("\"seed\":18446744073709551615") != std::string::npos);
    check_round_trip(e);
  }
  SECTION("the limits of each range") {
    json j = base();
    j["epochs"] = 100000;
    j["batch_size"] = 65536;
    j["threads"] = 0;
    j["seed"] = 0;
    j["shuffle"] = false;
    j["optimizer"] = {{"name", "adam"},
                      {"learning_rate", 10},
                      {"beta_1", 0},
                      {"beta_2", 0.9999999},
                      {"epsilon", 1.1754943508222875e-38}};  // the smallest normal float32
    j["reference"] = {{"test_accuracy", 1}, {"source", ""}};
    j["model"] = test_support::parse_json(R"([{"units": 65536, "activation": "linear"},
                                 {"units": 1, "activation": "relu"},
                                 {"units": 10, "activation": "softmax"}])");
    j["name"] = "A-z_0.9";
    const Experiment e = mlpbench::parse_experiment(test_support::dump_json(j), kSource);
    CHECK(e.epochs == 100000);
    CHECK(e.optimizer.learning_rate == 10.0);
    CHECK(e.model[0].units == 65536);
    CHECK_NOTHROW(mlpbench::validate_experiment(e, kSource));
    check_round_trip(e);
  }
  SECTION("64 layers") {
    json layers = json::array();
    for (int i = 0; i < 63; ++i) layers.push_back({{"units", 16}, {"activation", "relu"}});
    layers.push_back({{"units", 10}, {"activation", "softmax"}});
    const Experiment e = mlpbench::parse_experiment(with("/model", layers), kSource);
    CHECK(e.model.size() == 64);
  }
  SECTION("a UTF-8 byte-order mark and unusual whitespace") {
    const Experiment e = mlpbench::parse_experiment("\xEF\xBB\xBF\r\n" + test_support::dump_json(base(), 4), kSource);
    CHECK(e.name == "base");
  }
}

TEST_CASE("validate_experiment re-checks an Experiment after overrides", "[experiment]") {
  const Experiment good = mlpbench::parse_experiment(base(), kSource);
  CHECK_NOTHROW(mlpbench::validate_experiment(good, kSource));

  Experiment e = good;
  e.epochs = 0;
  CHECK(validate_error_of(e) == kSource + ": /epochs: expected an integer from 1 to 100000, got 0");

  e = good;
  e.batch_size = 100000;
  CHECK(validate_error_of(e) ==
        kSource + ": /batch_size: expected an integer from 1 to 65536, got 100000");

  e = good;
  e.threads = -2;
  CHECK(validate_error_of(e).rfind(kSource + ": /threads: ", 0) == 0);

  e = good;
  e.optimizer.learning_rate = std::nan("");
  CHECK(validate_error_of(e) ==
        kSource + ": /optimizer/learning_rate: expected a positive number, got NaN");

  e = good;
  e.optimizer.epsilon = std::numeric_limits<double>::infinity();
  CHECK(validate_error_of(e) ==
        kSource + ": /optimizer/epsilon: expected a positive number, got Infinity");

  e = good;
  e.model[0].units = std::numeric_limits<int>::max();
  CHECK(validate_error_of(e).rfind(kSource + ": /model/0/units: ", 0) == 0);

  e = good;
  e.model.back().units = 12;
  CHECK(validate_error_of(e).rfind(kSource + ": /model/1/units: the output layer", 0) == 0);

  e = good;
  e.model.clear();
  CHECK(validate_error_of(e) == kSource + ": /model: expected a non-empty array of layers, got []");

  e = good;
  e.name = "a/b";
  CHECK(validate_error_of(e).rfind(kSource + ": /name: ", 0) == 0);

  e = good;
  e.reference->test_accuracy = -0.5;
  CHECK(validate_error_of(e).rfind(kSource + ": /reference/test_accuracy: ", 0) == 0);
}

TEST_CASE("load_experiment names the file it could not use", "[experiment]") {
  const std::string dir = test_support::temp_dir();

  SECTION("missing file") {
    const std::string path = dir + "/nope.json";
    try {
      mlpbench::load_experiment(path);
      FAIL("no error");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) ==
            path + ": file not found");
    }
  }
  SECTION("a folder") {
    CHECK_THROWS_WITH(mlpbench::load_experiment(dir),
                      Catch::Matchers::StartsWith(dir + ": is a folder"));
  }
  SECTION("errors inside the file name it as given") {
    const std::string path = dir + "/bad.json";
    test_support::write_file(path, with("/epochs", "many"));
    CHECK_THROWS_WITH(mlpbench::load_experiment(path),
                      Catch::Matchers::Equals(path + R"(: /epochs: expected an integer from 1 to )"
                                                     R"(100000, got "many")"));
  }
  SECTION("a good file") {
    const std::string path = dir + "/good.json";
    test_support::write_file(path, test_support::dump_json(base(), 2));
    const Experiment e = mlpbench::load_experiment(path);
    CHECK(e == mlpbench::parse_experiment(base(), path));
  }
}

TEST_CASE("json_errors: pointers, excerpts and suggestions, and a safetensors header parsed as strictly", "[experiment][json]") {
  REQUIRE(mlpbench::json_pointer("/a", "b/c~d") == "/a/b~1c~0d");
  REQUIRE(mlpbench::json_pointer("/model", size_t{2}) == "/model/2");
  REQUIRE(mlpbench::closest_match("pateince", {"patience", "mode"}) == "patience");
  REQUIRE(mlpbench::closest_match("zzzzzz", {"patience", "mode"}).empty());
  REQUIRE(mlpbench::json_excerpt(nlohmann::json(std::string(500, 'x'))).size() < 100);
  // A tensor named twice in a weights file is refused (a plain parse would keep the last).
  const std::string header = R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                             R"( "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})";
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes += header + std::string(4, '\0');
  try {
    mlpbench::parse_safetensors(bytes, "dup.safetensors");
    FAIL("a duplicate tensor name was accepted");
  } catch (const std::runtime_error& e) {
    INFO(e.what());
    REQUIRE(std::string(e.what()).find("dup.safetensors") != std::string::npos);
    REQUIRE(std::string(e.what()).find("/w: duplicate key") != std::string::npos);
  }
}

}  // namespace test_experiment
