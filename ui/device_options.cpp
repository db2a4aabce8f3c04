// Device list with reasons (see device_options.h).
#include "ui/device_options.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <thread>

namespace birkhoff::ui {

QVector<DeviceOption> deviceOptions()
{
    QVector<DeviceOption> options;
    options.append(DeviceOption{QStringLiteral("cpu"),
                                QStringLiteral("CPU (%1 threads)").arg(std::thread::hardware_concurrency()), true, {}});
    if (!at::hasCUDA()) {
        options.append(DeviceOption{QStringLiteral("cuda"), QStringLiteral("CUDA"), false,
                                    QStringLiteral("unavailable: this LibTorch build has no CUDA support "
                                                   "(at::hasCUDA() is false); the studio runs on the CPU")});
        return options;
    }
    const int count = at::detail::getCUDAHooks().getNumGPUs();
    if (count == 0) {
        options.append(DeviceOption{QStringLiteral("cuda"), QStringLiteral("CUDA"), false,
                                    QStringLiteral("unavailable: LibTorch has CUDA support but sees no GPU "
                                                   "(driver missing or CUDA_VISIBLE_DEVICES empty)")});
        return options;
    }
    for (int i = 0; i < count; ++i)
        options.append(DeviceOption{QStringLiteral("cuda:%1").arg(i), QStringLiteral("CUDA device %1").arg(i), false,
                                    QStringLiteral("not used yet: the SAM predictor runs on the CPU in this version "
                                                   "(HyperLinear's CUDA kernel is used by `birkhoff bench`)")});
    return options;
}

}  // namespace birkhoff::ui
