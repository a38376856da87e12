// Load a TorchScript file saved from Python and run its forward method, without any Python.
//
//   run_model MODEL.pt --fill 2.0 --shape 2,2     forward(torch.full({2, 2}, 2.0))
//   run_model MODEL.pt 1 2 3                      forward(torch.tensor({1., 2., 3.}))
//
// Prints one line a result, in a form the Python side parses and compares:
//   tensor shape=[2, 2] values=[4, 4, 4, 4]      a tensor (values in row-major order)
//   int 1 / double 0.5 / bool true               a number
#include <torch/script.h>

#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<int64_t> parse_shape(const std::string& text) {
  std::vector<int64_t> shape;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, ',')) shape.push_back(std::stoll(part));
  return shape;
}

void print(const c10::IValue& value) {
  if (value.isTensor()) {
    const at::Tensor tensor = value.toTensor().contiguous().to(at::kDouble);
    std::cout << "tensor shape=[";
    for (int64_t i = 0; i < tensor.dim(); ++i) std::cout << (i ? ", " : "") << tensor.size(i);
    std::cout << "] values=[";
    const double* data = tensor.data_ptr<double>();
    for (int64_t i = 0; i < tensor.numel(); ++i) std::cout << (i ? ", " : "") << data[i];
    std::cout << "]\n";
  } else if (value.isInt()) {
    std::cout << "int " << value.toInt() << "\n";
  } else if (value.isDouble()) {
    std::cout << "double " << value.toDouble() << "\n";
  } else if (value.isBool()) {
    std::cout << "bool " << (value.toBool() ? "true" : "false") << "\n";
  } else if (value.isTuple()) {
    for (const auto& element : value.toTupleRef().elements()) print(element);
  } else {
    std::cout << "other " << value.tagKind() << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: run_model MODEL.pt [--fill V --shape A,B,...] [v1 v2 ...]\n";
    return 2;
  }
  double fill = 0.0;
  bool filled = false;
  std::vector<int64_t> shape{2, 2};
  std::vector<double> values;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--fill" && i + 1 < argc) {
      fill = std::stod(argv[++i]);
      filled = true;
    } else if (arg == "--shape" && i + 1 < argc) {
      shape = parse_shape(argv[++i]);
    } else {
      values.push_back(std::stod(arg));
    }
  }
  torch::jit::Module module;
  try {
    module = torch::jit::load(argv[1]);
  } catch (const c10::Error& error) {
    std::cerr << "could not load " << argv[1] << ": " << error.what_without_backtrace() << "\n";
    return 1;
  }
  module.eval();
  std::cout << std::setprecision(9);  // enough digits to give back every float32 exactly
  at::Tensor input = filled || values.empty()
                         ? torch::full(shape, fill)
                         : torch::tensor(values, torch::dtype(torch::kFloat));
  torch::NoGradGuard no_grad;
  print(module.forward({input}));
  return 0;
}
