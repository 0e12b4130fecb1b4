// The Model: initialisation, checkpoints (ours and PyTorch's), every kind of
// checkpoint mismatch, and training/evaluation through its API.

#include <cstdlib>
#include <fstream>
#include <random>

#include "core/host_allocator.h"
#include "fixtures.h"
#include "gradcheck.h"
#include "harness.h"
#include "nn/model.h"
#include "nn/trainer.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

std::string fixture(const char* file) { return source_path(std::string("test/fixtures/") + file); }

ModelConfig tiny() {
  ModelConfig c;
  c.input_size = 64, c.stem = 8, c.widths = {8, 16, 16, 32}, c.depths = {1, 1, 2, 1}, c.head_dim = 8;
  return c;
}

std::map<std::string, Tensor> fixture_tensors(const char* file) {
  SafetensorsContents c = read_safetensors(fixture(file));
  return {c.tensors.begin(), c.tensors.end()};
}

}  // namespace

TEST(create_initialises_by_the_architecture) {
  std::unique_ptr<Model> m = Model::create(ModelConfig{}, Device::cpu(), 1);
  CHECK_EQ(m->state().size(), size_t(436));
  for (const auto& [name, t] : m->state()) {
    std::vector<float> v = t.to_vector<float>();
    float lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
    bool zero = lo == 0 && hi == 0, one = lo == 1 && hi == 1;
    if (name.find(".offset.") != std::string::npos || name.find("rel_pos") != std::string::npos ||
        name.find("running_mean") != std::string::npos)
      CHECK(zero);
    else if (name.find("running_var") != std::string::npos) CHECK(one);
    else if (name == "level4.blocks.0.attn.q.weight") CHECK(std::fabs(lo) < 0.2 && hi < 0.2 && hi > 0.01);
    else if (name == "stem.conv1.weight") CHECK(lo >= -1 / std::sqrt(27.f) && hi <= 1 / std::sqrt(27.f) && hi > 0.1);
  }
  // The same seed gives the same weights.
  std::unique_ptr<Model> again = Model::create(ModelConfig{}, Device::cpu(), 1);
  CHECK(again->state()[0].second.to_vector<float>() == m->state()[0].second.to_vector<float>());
}

TEST(checkpoints_round_trip) {
  std::string dir = temp_dir(), path = dir + "/model.safetensors";
  std::unique_ptr<Model> m = Model::create(tiny(), Device::cpu(), 5);
  m->save(path, {{"epoch", "3"}});
  std::unique_ptr<Model> back = Model::load(path, Device::cpu());
  CHECK_EQ(config_to_json(back->config()), config_to_json(m->config()));
  for (size_t i = 0; i < m->state().size(); ++i)
    CHECK(back->state()[i].second.to_vector<float>() == m->state()[i].second.to_vector<float>());
  CHECK_EQ(read_safetensors(path).metadata.at("epoch"), std::string("3"));
  std::filesystem::remove_all(dir);
}

TEST(pytorch_state_dicts_load_and_give_pytorch_logits) {
  auto t = fixture_tensors("model_tiny_default.safetensors");
  ModelConfig config =
      config_from_json(read_safetensors(fixture("model_tiny_default.safetensors")).metadata.at("config"));
  CHECK_THROWS(Model::load(fixture("pytorch_state_dict.safetensors"), Device::cpu()), ErrorCode::Checkpoint,
               "has no \"config\" metadata");
  std::unique_ptr<Model> m = Model::load(fixture("pytorch_state_dict.safetensors"), Device::cpu(), &config);
  CHECK_CLOSE(m->forward(t.at("images")), t.at("eval_logits"), 2e-4, 2e-3);
  Model::LossAndGradients out = m->loss_and_gradients(t.at("images"), t.at("masks"));
  CHECK_CLOSE(out.loss, t.at("loss"), 2e-4, 2e-3);
  CHECK_EQ(out.gradients.size(), size_t(178));
  for (const auto& [name, g] : out.gradients) CHECK_CLOSE(g, t.at("grad." + name), 2e-4, 2e-3);
  // The training step updated the running statistics, as PyTorch's did.
  for (const auto& [name, v] : m->state())
    if (name.find("running_") != std::string::npos) CHECK_CLOSE(v, t.at("after." + name), 2e-4, 2e-3);
}

TEST(checkpoint_mismatches_name_the_tensor) {
  std::string dir = temp_dir();
  std::unique_ptr<Model> m = Model::create(tiny(), Device::cpu(), 5);
  std::map<std::string, std::string> meta = {{"config", config_to_json(tiny())}};
  auto write_variant = [&](const std::string& file, auto edit) {
    NamedTensors tensors = m->state();
    edit(tensors);
    write_safetensors(dir + "/" + file, tensors, meta);
    return dir + "/" + file;
  };
  std::string missing = write_variant("missing.safetensors", [](NamedTensors& t) { t.erase(t.begin() + 3); });
  CHECK_THROWS(Model::load(missing, Device::cpu()), ErrorCode::Checkpoint, "lacks tensor 'stem.norm1.bias' [8]");
  std::string shape = write_variant("shape.safetensors", [](NamedTensors& t) {
    t[0].second = t[0].second.reshape({8, 3, 9});
  });
  CHECK_THROWS(Model::load(shape, Device::cpu()), ErrorCode::Checkpoint,
               "tensor 'stem.conv1.weight' has shape [8, 3, 9], expected [8, 3, 3, 3]");
  std::string dtype =
      write_variant("dtype.safetensors", [](NamedTensors& t) { t[1].second = Tensor::zeros({8}, DType::F64); });
  CHECK_THROWS(Model::load(dtype, Device::cpu()), ErrorCode::Checkpoint,
               "tensor 'stem.conv1.bias' is float64, expected float32");
  std::string extra = write_variant(
      "extra.safetensors", [](NamedTensors& t) { t.emplace_back("decoder5.weight", Tensor::zeros({1}, DType::F32)); });
  CHECK_THROWS(Model::load(extra, Device::cpu()), ErrorCode::Checkpoint, "holds tensor 'decoder5.weight'");
  meta["config"] = "{\"inputSize\": 65}";
  std::string config = write_variant("config.safetensors", [](NamedTensors&) {});
  CHECK_THROWS(Model::load(config, Device::cpu()), ErrorCode::Checkpoint, "invalid configuration: config.inputSize");
  { std::ofstream(dir + "/garbage.safetensors") << "not a checkpoint"; }
  CHECK_THROWS(Model::load(dir + "/garbage.safetensors", Device::cpu()), ErrorCode::Format, "garbage.safetensors");
  CHECK_THROWS(Model::load(dir + "/none.safetensors", Device::cpu()), ErrorCode::IO, "none.safetensors");
  std::filesystem::remove_all(dir);
}

TEST(bad_inputs_are_named) {
  std::unique_ptr<Model> m = Model::create(tiny(), Device::cpu(), 5);
  CHECK_THROWS(m->forward(Tensor::zeros({1, 3, 32, 32}, DType::F32)), ErrorCode::Shape,
               "images must have shape [B, 3, 64, 64], got [1, 3, 32, 32]");
  CHECK_THROWS(m->forward(Tensor::zeros({1, 3, 64, 64}, DType::U8)), ErrorCode::DType,
               "images must be float32, got uint8");
  Tensor images = Tensor::zeros({2, 3, 64, 64}, DType::F32);
  CHECK_THROWS(m->loss_and_gradients(images, Tensor::zeros({2, 64, 64}, DType::F32)), ErrorCode::DType,
               "masks must be int32 class indices, got float32");
  CHECK_THROWS(m->loss_and_gradients(images, Tensor::zeros({1, 64, 64}, DType::I32)), ErrorCode::Shape,
               "masks must have shape [2, 64, 64], got [1, 64, 64]");
  CHECK_THROWS(m->set_state({{"stem.conv1.weight", Tensor::zeros({1}, DType::F32)}}), ErrorCode::Shape,
               "tensor 'stem.conv1.weight' must have shape [8, 3, 3, 3], got [1]");
  CHECK_THROWS(m->set_state({{"nope", Tensor::zeros({1}, DType::F32)}}), ErrorCode::InvalidArg, "no tensor 'nope'");
}

// Once the host cache has settled (best-fit reuse can take a step or two to
// find its steady assignment), a training step takes no tensor or GEMM memory
// from the system: every block comes from the cache, freed by the step before.
TEST(training_steps_allocate_nothing_once_warm) {
#ifdef __SANITIZE_ADDRESS__
  std::printf("    skipped: AddressSanitizer builds turn the host cache off\n");
  return;
#endif
  std::unique_ptr<Model> m = Model::create(tiny(), Device::cpu(), 5);
  Tensor images = Tensor::zeros({2, 3, 64, 64}, DType::F32), masks = Tensor::zeros({2, 64, 64}, DType::I32);
  release_host_cache();  // earlier tests filled it with the same sizes
  std::vector<uint64_t> per_step;
  for (int step = 0; step < 6; ++step) {
    uint64_t before = host_allocator_stats().system_allocations;
    { Model::LossAndGradients out = m->loss_and_gradients(images, masks); }
    per_step.push_back(host_allocator_stats().system_allocations - before);
  }
  std::printf("    system allocations per step:");
  for (uint64_t n : per_step) std::printf(" %llu", (unsigned long long)n);
  std::printf("\n");
  CHECK(per_step[0] > 0);
  CHECK(per_step[3] == 0 && per_step[4] == 0 && per_step[5] == 0);
}

// The whole stack learns: a tiny model trained with Adam on synthetic
// "lesions" (bright discs on noisy skin-toned backgrounds, masks = the discs)
// brings its loss well down within 40 steps.
TEST(training_with_adam_reduces_the_loss) {
  ModelConfig c = tiny();
  c.input_size = 32;
  std::unique_ptr<Model> m = Model::create(c, Device::cpu(), 11);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(0.f, 1.f);
  std::normal_distribution<float> noise(0.f, 0.1f);
  auto batch = [&](Tensor* images, Tensor* masks) {
    std::vector<float> pixels(size_t(4 * 3 * 32 * 32));
    std::vector<int32_t> labels(size_t(4 * 32 * 32));
    for (int n = 0; n < 4; ++n) {
      float cy = 8 + 16 * uniform(rng), cx = 8 + 16 * uniform(rng), r = 4 + 5 * uniform(rng);
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          bool in = (y - cy) * (y - cy) + (x - cx) * (x - cx) < r * r;
          labels[size_t((n * 32 + y) * 32 + x)] = in;
          for (int ch = 0; ch < 3; ++ch)
            pixels[size_t(((n * 3 + ch) * 32 + y) * 32 + x)] = (in ? -0.8f : 0.6f - 0.2f * float(ch)) + noise(rng);
        }
    }
    *images = Tensor::from_vector(pixels, {4, 3, 32, 32});
    *masks = Tensor::from_vector(labels, {4, 32, 32});
  };
  AdamOptions o;
  o.lr = 3e-3;
  AdamTrainer trainer(*m, o);
  std::vector<double> losses;
  for (int step = 0; step < 40; ++step) {
    Tensor images, masks;
    batch(&images, &masks);
    losses.push_back(trainer.step(images, masks));
  }
  double first = (losses[0] + losses[1] + losses[2]) / 3, last = (losses[37] + losses[38] + losses[39]) / 3;
  std::printf("    loss %.3f -> %.3f over %lld Adam steps\n", first, last, (long long)trainer.steps());
  CHECK(last < 0.5 * first);
}

namespace {

// Two random training batches for a 32×32 model: images [2, 3, 32, 32], masks [2, 32, 32].
std::pair<Tensor, Tensor> random_batch(std::mt19937& rng) {
  Tensor images = random_tensor({2, 3, 32, 32}, rng, 1.0, DType::F32);
  std::vector<int32_t> labels(2 * 32 * 32);
  for (auto& l : labels) l = int32_t(rng() % 2);
  return {images, Tensor::from_vector(labels, {2, 32, 32})};
}

std::vector<float> flat_state(const Model& m) {
  std::vector<float> out;
  for (const auto& [name, t] : m.state()) {
    std::vector<float> v = t.to_vector<float>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace

// Saving the weights and Adam's moments mid-run and continuing from them in a
// fresh model and trainer gives the same losses and weights, bit for bit.
TEST(training_resumes_exactly_from_weights_and_moments) {
  ModelConfig c = tiny();
  c.input_size = 32;
  std::mt19937 rng(5);
  std::vector<std::pair<Tensor, Tensor>> batches;
  for (int i = 0; i < 6; ++i) batches.push_back(random_batch(rng));
  AdamOptions o;
  o.lr = 1e-3;
  std::unique_ptr<Model> a = Model::create(c, Device::cpu(), 4);
  AdamTrainer ta(*a, o, LossKind::CrossEntropyDice);
  std::vector<double> straight;
  for (int i = 0; i < 6; ++i) straight.push_back(ta.step(batches[size_t(i)].first, batches[size_t(i)].second));

  std::unique_ptr<Model> b = Model::create(c, Device::cpu(), 4);
  AdamTrainer tb(*b, o, LossKind::CrossEntropyDice);
  for (int i = 0; i < 3; ++i) tb.step(batches[size_t(i)].first, batches[size_t(i)].second);
  std::string path = temp_dir() + "/resume.safetensors";
  b->save(path);
  NamedTensors moments = tb.moments();
  size_t parameters = 0;
  for (const TensorSpec& spec : checkpoint_layout(c)) parameters += spec.kind == TensorKind::Parameter;
  CHECK_EQ(moments.size(), 2 * parameters);
  CHECK_EQ(moments[0].first, "exp_avg." + b->state()[0].first);

  std::unique_ptr<Model> resumed = Model::load(path, Device::cpu());
  AdamTrainer tr(*resumed, o, LossKind::CrossEntropyDice);
  tr.set_moments(tb.steps(), moments);
  for (int i = 3; i < 6; ++i)
    CHECK_EQ(tr.step(batches[size_t(i)].first, batches[size_t(i)].second), straight[size_t(i)]);
  CHECK(flat_state(*resumed) == flat_state(*a));
  CHECK_EQ(tr.steps(), int64_t(6));

  NamedTensors broken = moments;
  broken.pop_back();
  CHECK_THROWS(tr.set_moments(3, broken), ErrorCode::Checkpoint, "exp_avg_sq.");
}

// A step whose loss turns NaN throws ERR_NAN and changes nothing: not the
// weights, not the moments, not BatchNorm's running statistics.
TEST(a_non_finite_step_changes_nothing) {
  ModelConfig c = tiny();
  c.input_size = 32;
  std::mt19937 rng(6);
  std::unique_ptr<Model> m = Model::create(c, Device::cpu(), 4);
  AdamTrainer t(*m, AdamOptions{});
  auto [images, masks] = random_batch(rng);
  t.step(images, masks);
  std::vector<float> before = flat_state(*m);
  NamedTensors moments = t.moments();
  // Input images are checked (a NaN pixel is ERR_INVALID_ARG); an overflowing weight makes the loss non-finite.
  std::vector<float> poisoned = images.to_vector<float>();
  poisoned[17] = NAN;
  CHECK_THROWS(t.step(Tensor::from_vector(poisoned, images.shape()), masks), ErrorCode::InvalidArg,
               "1 NaN or infinite");
  NamedTensors good, broken;
  for (const auto& [name, tensor] : m->state())
    if (name == "head.bias") good.emplace_back(name, tensor.clone());
  broken.emplace_back("head.bias", Tensor::from_vector(std::vector<float>{INFINITY, 0.f}, {2}));
  m->set_state(broken);
  before = flat_state(*m);
  CHECK_THROWS(t.step(images, masks), ErrorCode::NonFinite, "the loss is");
  CHECK(flat_state(*m) == before);
  CHECK_EQ(t.steps(), int64_t(1));
  CHECK(t.moments()[0].second.to_vector<float>() == moments[0].second.to_vector<float>());
  m->set_state(good);
  t.step(images, masks);  // and training goes on
  CHECK_EQ(t.steps(), int64_t(2));
}

int main() { return run_all(); }
