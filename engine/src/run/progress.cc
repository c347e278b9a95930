#include "mlpbench/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <cinttypes>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "median.h"

namespace mlpbench {
namespace {

std::string with_commas(size_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

std::string format_duration(double seconds) {
  char buf[32];
  if (seconds < 1e-3) {
    std::snprintf(buf, sizeof buf, "%.0fus", seconds * 1e6);
  } else if (seconds < 1) {
    std::snprintf(buf, sizeof buf, "%.0fms", seconds * 1e3);
  } else if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(seconds) / 60,
                  static_cast<int>(seconds) % 60);
  }
  return buf;
}

std::string target_report(const nlohmann::json& summary) {
  if (!summary.contains("target_accuracy")) return "";
  char text[256];
  const double goal = 100 * summary["target_accuracy"].get<double>();
  const std::string metric = summary.value("target_metric", "");
  const nlohmann::json& epoch = summary["epochs_to_target"];
  if (epoch.is_null()) {
    const int epochs = summary.value("last_epoch", 0);
    std::snprintf(text, sizeof text, "Target %.2f%% %s: not reached in %d epoch%s", goal,
                  metric.c_str(), epochs, epochs == 1 ? "" : "s");
  } else {
    const double train = summary["time_to_target_seconds"].get<double>();
    const double eval = summary["eval_seconds_to_target"].get<double>();
    std::snprintf(text, sizeof text,
                  "Target %.2f%% %s: reached at epoch %d, after %.2f s of training (%.2f s with "
                  "evaluation)", goal, metric.c_str(), epoch.get<int>(), train, train + eval);
  }
  return text;
}

std::string model_summary(const std::string& name, size_t inputs,
                          const std::vector<LayerSpec>& layers) {
  const std::string rule(65, '_'), thick(65, '=');
  std::ostringstream s;
  s << "Model: \"" << name << "\"\n" << rule << "\n";
  s << pad(" Layer (type)", 29) << pad("Output Shape", 26) << "Param #\n" << thick << "\n";
  s << pad(" flatten (Flatten)", 29) << pad("(None, " + std::to_string(inputs) + ")", 26)
    << "0\n";
  size_t in = inputs, total = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const size_t out = static_cast<size_t>(layers[l].units), params = in * out + out;
    const std::string act(activation_name(layers[l].activation));
    const std::string label = " dense_" + std::to_string(l) + " (Dense, " + act + ")";
    s << pad(label, 29) << pad("(None, " + std::to_string(out) + ")", 26)
      << with_commas(params) << "\n";
    total += params;
    in = out;
  }
  s << thick << "\n";
  s << "Total params: " << with_commas(total) << " ("
    << std::fixed << std::setprecision(2) << total * 4.0 / 1048576 << " MiB)\n";
  s << "Trainable params: " << with_commas(total) << "\n";
  s << "Non-trainable params: 0\n" << rule << "\n";
  return s.str();
}

std::string sweep_table(const std::vector<SweepRow>& rows) {
  if (rows.empty()) return "";
  auto config = [](const SweepRow& r) {
    return (r.batch_size ? "batch " + std::to_string(r.batch_size) + ", " : std::string()) +
           std::to_string(r.threads) + (r.threads == 1 ? " thread, " : " threads, ") + r.target;
  };
  struct Line {
    std::string config;
    std::vector<double> seconds;
    bool identical = true;
  };
  std::vector<Line> lines;  // one per configuration, in the order of the first round
  std::vector<std::vector<std::string>> alike;  // targets by the numbers they computed
  for (const SweepRow& r : rows) {
    if (r.batch_size == rows.front().batch_size) {
      if (alike.size() <= static_cast<size_t>(r.numbers)) alike.resize(static_cast<size_t>(r.numbers) + 1);
      auto& group = alike[static_cast<size_t>(r.numbers)];
      if (std::find(group.begin(), group.end(), r.target) == group.end()) group.push_back(r.target);
    }
    const std::string c = config(r);
    auto line = std::find_if(lines.begin(), lines.end(), [&](const Line& l) { return l.config == c; });
    if (line == lines.end()) line = lines.insert(lines.end(), Line{c, {}, true});
    line->seconds.push_back(r.median_epoch_seconds);
    line->identical &= r.identical;
  }
  const bool repeated = lines.size() < rows.size();
  size_t width = 13;  // "configuration"
  for (const Line& l : lines) width = std::max(width, l.config.size());
  std::ostringstream s;
  s << pad("configuration", width) << (repeated ? "  runs  s/epoch  fastest-slowest" : "  s/epoch")
    << "  speed-up  identical numbers\n";
  double first = 0;
  for (Line& l : lines) {
    std::sort(l.seconds.begin(), l.seconds.end());
    const double median = median_of_sorted(l.seconds);
    if (first == 0) first = median;
    char cells[96];
    if (repeated) {
      char spread[40];
      std::snprintf(spread, sizeof spread, "%.3f-%.3f", l.seconds.front(), l.seconds.back());
      std::snprintf(cells, sizeof cells, "  %4zu  %7.3f  %15s  %7.2fx  %s", l.seconds.size(), median,
                    spread, first / median, l.identical ? "yes" : "no");
    } else {
      std::snprintf(cells, sizeof cells, "  %7.3f  %7.2fx  %s", median, first / median,
                    l.identical ? "yes" : "no");
    }
    s << pad(l.config, width) << cells << "\n";
  }
  s << "(s/epoch: median epoch" << (repeated ? ", the median over the runs" : "")
    << "; speed-up: against " << lines.front().config << "; identical numbers: every run against "
    << "the first run of its target" << (rows.front().batch_size ? " and batch size" : "") << ")\n";
  size_t targets = 0;
  for (const auto& group : alike) targets += group.size();
  if (targets > 1) {
    s << "Numbers by target" << (rows.front().batch_size ? " at batch " + std::to_string(rows.front().batch_size) : "")
      << ":";
    for (size_t g = 0; g < alike.size(); ++g) {
      s << (g ? ";" : "") << " ";
      for (size_t i = 0; i < alike[g].size(); ++i) s << (i ? " = " : "") << alike[g][i];
    }
    s << (alike.size() > 1 ? " (targets differ by design: AVX2 and later round a*b+c once where the "
                             "others round twice, and sums over vector lanes add in another order at "
                             "another width)\n"
                           : " (all the same numbers)\n");
  }
  return s.str();
}

bool Progress::live_bar(std::FILE* out) {
  if (isatty(fileno(out)) == 0) return false;
  const char* term = std::getenv("TERM");
  return !(term && std::strcmp(term, "dumb") == 0);  // a dumb terminal cannot redraw a line
}

int Progress::terminal_width(std::FILE* out) {
  struct winsize ws {};
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) {
    const int n = std::atoi(columns);
    if (n > 0) return n;
  }
  return 80;
}

Progress::Progress(std::FILE* out, bool quiet, int epochs, bool show_learning_rate)
    : out_(out), quiet_(quiet), tty_(live_bar(out)),
      show_learning_rate_(show_learning_rate), epochs_(epochs) {}

void Progress::emit(const std::string& text) {
  if (dead_) return;
  // A closed pipe or terminal (EPIPE; SIGPIPE is ignored) ends the output, never the run.
  if (std::fputs(text.c_str(), out_) < 0 || std::fflush(out_) != 0 || std::ferror(out_)) {
    dead_ = true;
    std::clearerr(out_);
  }
}

void Progress::on_step(int epoch, size_t step, size_t steps, double loss, double accuracy) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  if (epoch != current_epoch_) {
    current_epoch_ = epoch;
    epoch_start_ = now;
    last_draw_ = {};
    if (tty_) emit("Epoch " + std::to_string(epoch) + "/" + std::to_string(epochs_) + "\n");
  }
  if (!tty_ || dead_) return;
  // Redraw at most ten times a second: the bar must not cost the step loop anything.
  if (step != steps && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  const double eta = step ? elapsed / step * (steps - step) : 0;
  char tail[160];
  std::snprintf(tail, sizeof tail, " - ETA %s - loss: %.4f - accuracy: %.4f",
                format_duration(eta).c_str(), loss, accuracy);
  const std::string count = std::to_string(step) + "/" + std::to_string(steps);
  // The line never reaches the last column: a wrapped line could not be redrawn in place.
  const int room = terminal_width(out_) - 1;
  const int width = std::clamp(room - static_cast<int>(count.size() + std::strlen(tail)) - 3, 0, 30);
  std::string line = count;
  if (width >= 5) {
    const int filled = static_cast<int>(width * step / steps);
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < width) bar += '>';
    bar.resize(static_cast<size_t>(width), '.');
    line += " [" + bar + "]";
  }
  line += tail;
  if (static_cast<int>(line.size()) > room) line.resize(static_cast<size_t>(std::max(room, 1)));
  emit("\r" + line + "\033[K");
}

void Progress::on_epoch_end(const EpochResult& r) {
  if (quiet_) return;
  const double per_step = r.steps ? r.train_seconds / r.steps : 0;
  // Keras' order: training metrics, then val_*; then ours (test_*, the rate, the speed).
  char val[96] = "", rate[64] = "", line[640];
  if (!std::isnan(r.val_loss)) {
    std::snprintf(val, sizeof val, " - val_loss: %.4f - val_accuracy: %.4f", r.val_loss,
                  r.val_accuracy);
  }
  if (show_learning_rate_) {
    std::snprintf(rate, sizeof rate, " - learning_rate: %.4g", r.learning_rate_end);
  }
  std::snprintf(line, sizeof line,
                "%zu/%zu - %s %s/step - loss: %.4f - accuracy: %.4f%s - test_loss: %.4f - "
                "test_accuracy: %.4f%s - %.0f samples/s - %.1f GFLOP/s",
                r.steps, r.steps, format_duration(r.train_seconds).c_str(),
                format_duration(per_step).c_str(), r.train_loss, r.train_accuracy, val,
                r.test_loss, r.test_accuracy, rate, r.samples_per_second, r.gflops);
  if (tty_) {
    emit(std::string("\r") + line + "\033[K\n");
  } else {
    emit("Epoch " + std::to_string(r.epoch) + "/" + std::to_string(epochs_) + " - " + line + "\n");
  }
}

}  // namespace mlpbench
