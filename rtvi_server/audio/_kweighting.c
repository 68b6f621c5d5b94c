/*
 * The mean square of 16-bit PCM after the ITU-R BS.1770 K-weighting filter,
 * the filter starting at rest: the energy of one BS.1770 gating block.
 *
 * pipecat's VAD measures the loudness of the last 0.4 s of audio at every
 * model window while someone speaks (through the `loudness` package, about
 * 48 us a call here). A 0.4 s window is one gating block, so the measure is
 * this energy, gated and binned (rtvi_server/audio/gating_block.py does that part
 * in Python). The filter is the standard's: a high-shelf and a high-pass
 * stage, each from its analog parameters through the bilinear transform at the
 * audio's sample rate. Each stage runs in direct form I with its feedback term
 * added last, so a sample waits on one multiply and one add of the one before;
 * the two stages overlap.
 *
 * Built by pip at install (pyproject's ext-modules); without it the meter
 * falls back to pipecat's own function.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

/* One second-order section: y = b0 x + b1 x1 + b2 x2 - a1 y1 - a2 y2. */
typedef struct {
    double b0, b1, b2, a1, a2;
} biquad;

/* BS.1770's stage 1: a high shelf (about +4 dB above 1.7 kHz), head effects. */
static biquad shelf_stage(double sample_rate)
{
    const double f0 = 1681.974450955533;
    const double gain_db = 3.999843853973347;
    const double q = 0.7071752369554196;
    const double vh = pow(10.0, gain_db / 20.0);
    const double vb = pow(vh, 0.4996667741545416);
    const double k = tan(M_PI * f0 / sample_rate);
    const double a0 = 1.0 + k / q + k * k;
    biquad s = {
        .b0 = (vh + vb * k / q + k * k) / a0,
        .b1 = 2.0 * (k * k - vh) / a0,
        .b2 = (vh - vb * k / q + k * k) / a0,
        .a1 = 2.0 * (k * k - 1.0) / a0,
        .a2 = (1.0 - k / q + k * k) / a0,
    };
    return s;
}

/* The feedback half of a section whose numerator is fixed. */
typedef struct {
    double a1, a2;
} poles;

/* BS.1770's stage 2: the RLB high-pass (about 38 Hz); its numerator is 1, -2, 1,
 * which the loop below applies as additions. */
static poles highpass_stage(double sample_rate)
{
    const double f0 = 38.13547087602444;
    const double q = 0.5003270373238773;
    const double k = tan(M_PI * f0 / sample_rate);
    const double a0 = 1.0 + k / q + k * k;
    poles s = {
        .a1 = 2.0 * (k * k - 1.0) / a0,
        .a2 = (1.0 - k / q + k * k) / a0,
    };
    return s;
}

static double weighted_sum_of_squares(const char *pcm, Py_ssize_t count, double sample_rate)
{
    const biquad s1 = shelf_stage(sample_rate);
    const poles s2 = highpass_stage(sample_rate);
    const double scale = 1.0 / 32768.0; /* exact: what pipecat's float32 samples hold */
    double x1 = 0.0, x2 = 0.0, u1 = 0.0, u2 = 0.0; /* stage 1's inputs and outputs */
    double v1 = 0.0, v2 = 0.0;                     /* stage 2's outputs */
    double sum = 0.0;
    for (Py_ssize_t i = 0; i < count; ++i) {
        int16_t sample; /* copied: a buffer's bytes need not be aligned for int16 */
        memcpy(&sample, pcm + i * (Py_ssize_t)sizeof(int16_t), sizeof sample);
        const double x = sample * scale;
        const double u = (s1.b0 * x + s1.b1 * x1 + s1.b2 * x2 - s1.a2 * u2) - s1.a1 * u1;
        const double v = ((u - 2.0 * u1 + u2) - s2.a2 * v2) - s2.a1 * v1;
        x2 = x1;
        x1 = x;
        u2 = u1;
        u1 = u;
        v2 = v1;
        v1 = v;
        sum += v * v;
    }
    return sum;
}

PyDoc_STRVAR(mean_square_doc,
             "mean_square(pcm, start, count, sample_rate, /)\n--\n\n"
             "The mean square of ``count`` native-endian 16-bit samples of ``pcm`` from\n"
             "sample ``start``, K-weighted (BS.1770) from rest and scaled to [-1, 1).");

static PyObject *mean_square(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "mean_square takes pcm, start, count, sample_rate");
        return NULL;
    }
    const Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    const Py_ssize_t count = PyLong_AsSsize_t(args[2]);
    const double sample_rate = PyFloat_AsDouble(args[3]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (start < 0 || count <= 0 || !(sample_rate > 0.0)) {
        PyErr_SetString(PyExc_ValueError, "start must be >= 0, count and sample_rate > 0");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) != 0) {
        return NULL;
    }
    if ((start + count) > view.len / (Py_ssize_t)sizeof(int16_t)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "the samples run past the end of pcm");
        return NULL;
    }
    const char *pcm = (const char *)view.buf + start * (Py_ssize_t)sizeof(int16_t);
    double sum;
    /* The GIL stays held: the call is shorter than a thread switch would be. */
    sum = weighted_sum_of_squares(pcm, count, sample_rate);
    PyBuffer_Release(&view);
    return PyFloat_FromDouble(sum / (double)count);
}

static PyMethodDef methods[] = {
    {"mean_square", (PyCFunction)(void (*)(void))mean_square, METH_FASTCALL, mean_square_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "rtvi_server.audio._kweighting",
    .m_doc = "BS.1770 K-weighted energy of 16-bit PCM (see rtvi_server/audio/gating_block.py).",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__kweighting(void) { return PyModuleDef_Init(&module_def); }
