// A two-layer perceptron learns XOR: the smallest end-to-end use of the API.
// Tensors hold the data and weights, ops build the forward pass, backward()
// fills .grad, and a hand-written SGD step updates the weights.
//
//   ./build/examples/xor
#include <cstdio>
#include <vector>

#include "autograd/graph.h"
#include "autograd/ops.h"

using cf::Tensor;

int main() {
  // The four XOR cases and their classes (0 or 1).
  const Tensor x = Tensor::from({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  const std::vector<int64_t> y = {0, 1, 1, 0};

  // Parameters: 2 -> 8 -> 2, initialised from fixed seeds, so every run
  // prints the same numbers.
  const int hidden = 8;
  std::vector<Tensor> params = {
      Tensor::randn({2, hidden}, /*seed=*/1, 0.0f, 1.0f).requires_grad_(),  // w1
      Tensor::zeros({hidden}).requires_grad_(),                            // b1
      Tensor::randn({hidden, 2}, /*seed=*/2, 0.0f, 0.5f).requires_grad_(),  // w2
      Tensor::zeros({2}).requires_grad_(),                                 // b2
  };
  const float learning_rate = 0.5f;

  for (int step = 0; step <= 300; ++step) {
    // Forward: logits = tanh(x w1 + b1) w2 + b2, then the cross-entropy loss.
    Tensor h = cf::tanh(cf::matmul(x, params[0]) + params[1]);
    Tensor logits = cf::matmul(h, params[2]) + params[3];
    Tensor loss = cf::cross_entropy(logits, y);

    // Backward: fills p.grad() for every parameter and frees the tape.
    for (Tensor& p : params) p.zero_grad();
    loss.backward();

    // SGD: p -= lr * grad, outside the tape.
    for (Tensor& p : params) {
      float* w = p.data();
      const float* g = p.grad().data();
      for (int64_t i = 0; i < p.numel(); ++i) w[i] -= learning_rate * g[i];
    }

    if (step % 50 == 0) std::printf("step %3d  loss %.4f\n", step, loss.item());
  }

  // Evaluate without recording a tape.
  cf::NoGradGuard no_grad;
  Tensor probs = cf::softmax(cf::matmul(cf::tanh(cf::matmul(x, params[0]) + params[1]), params[2]) + params[3]);
  int correct = 0;
  for (int i = 0; i < 4; ++i) {
    const int predicted = probs.at({i, 1}) > probs.at({i, 0}) ? 1 : 0;
    correct += predicted == y[size_t(i)];
    std::printf("xor(%g, %g) = %d   p(1) = %.3f\n", x.at({i, 0}), x.at({i, 1}), predicted,
                probs.at({i, 1}));
  }
  std::printf("%d of 4 correct\n", correct);
  return correct == 4 ? 0 : 1;
}
