// Running /usr/bin/python3 (Debian's python3-torch) from tests.
#include "tests/core/io/python_torch.h"

#include "core/io/state_dict.h"

#include <QCryptographicHash>
#include <QFileInfo>
#include <QProcess>

#include <ATen/ATen.h>

namespace birkhoff::test {

namespace {
const char* const kPython = "/usr/bin/python3";
}

PythonResult runPython(const QString& script, const QStringList& args, int timeoutMs)
{
    QProcess p;
    p.start(QString::fromLatin1(kPython), QStringList{QStringLiteral("-c"), script} + args);
    PythonResult r;
    if (!p.waitForStarted(10000))
        return r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = QStringLiteral("timed out");
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

bool pythonTorchAvailable()
{
    static const bool available = QFileInfo::exists(QString::fromLatin1(kPython))
                                  && runPython(QStringLiteral("import torch")).exitCode == 0;
    return available;
}

QString tensorListingLine(const std::string& name, const at::Tensor& tensor)
{
    static const std::pair<c10::ScalarType, const char*> kNames[] = {
        {c10::ScalarType::Float, "torch.float32"},  {c10::ScalarType::Double, "torch.float64"},
        {c10::ScalarType::Half, "torch.float16"},   {c10::ScalarType::BFloat16, "torch.bfloat16"},
        {c10::ScalarType::Long, "torch.int64"},     {c10::ScalarType::Int, "torch.int32"},
        {c10::ScalarType::Short, "torch.int16"},    {c10::ScalarType::Char, "torch.int8"},
        {c10::ScalarType::Byte, "torch.uint8"},     {c10::ScalarType::Bool, "torch.bool"},
    };
    QString dtype = QStringLiteral("?");
    for (const auto& [type, text] : kNames)
        if (type == tensor.scalar_type())
            dtype = QString::fromLatin1(text);
    QStringList dims;
    for (const auto d : tensor.sizes())
        dims << QString::number(d);
    const at::Tensor c = tensor.contiguous();
    const QByteArray bytes = QByteArray::fromRawData(static_cast<const char*>(c.data_ptr()),
                                                     static_cast<qsizetype>(c.numel() * c.element_size()));
    const QString digest = QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
    return QString::fromStdString(name) + QLatin1Char('\t') + dtype + QStringLiteral("\t[")
           + dims.join(QStringLiteral(", ")) + QStringLiteral("]\t") + digest;
}

QStringList stateDictListing(const io::StateDict& tensors)
{
    QStringList lines;
    for (const auto& e : tensors)
        lines << tensorListingLine(e.name, e.tensor);
    return lines;
}

QStringList pythonCheckpointListing(const QString& path, QString* error)
{
    static const char* const kScript = R"PY(
import hashlib, sys, torch
obj = torch.load(sys.argv[1], map_location="cpu")
wrapper = "-"
if isinstance(obj, dict) and not any(torch.is_tensor(v) for v in obj.values()):
    for key in ("model", "state_dict"):
        if isinstance(obj.get(key), dict):
            wrapper, obj = key, obj[key]
            break
print("TYPE " + type(obj).__name__)
print("WRAPPER " + wrapper)
for name, t in obj.items():
    data = t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    print("%s	%s	%s	%s" % (name, t.dtype, list(t.shape), hashlib.sha256(data).hexdigest()))
)PY";
    const PythonResult r = runPython(QString::fromLatin1(kScript), {path});
    if (r.exitCode != 0) {
        if (error != nullptr)
            *error = r.err;
        return {};
    }
    return r.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

}  // namespace birkhoff::test
