!> Example 05: apply a model that exists only in Python to a Fortran field every step.
!>
!> The host evolves a temperature-like field t(nlev, ncol) (a prescribed profile plus
!> travelling waves whose amplitude differs between columns). Once, before the loop, it
!> sends snapshots of the field to Python, where a k-means classifier is fitted (numpy;
!> kmeans_classifier.py next to this file); every step it classifies all columns with
!> one `cl_py_call`. Arrays cross without copies. As a check that needs no Python, the
!> host also finds the nearest centroid itself and counts disagreements.
!>
!> usage: python_model [EXAMPLE_DIR [NSTEPS]]   (EXAMPLE_DIR: where kmeans_classifier.py is)
!> Prints "CLASS_COUNTS ...", "MISMATCHES n" (0 expected), "US_PER_CALL t".
!> Build: gfortran main.f90 $(climlearn-config --fflags --python-libs) -o python_model
program python_model
  use, intrinsic :: iso_fortran_env, only: real64, int32, int64, error_unit, output_unit
  use climlearn_python
  implicit none

  integer, parameter :: nlev = 20, ncol = 64, nclass = 4, nfit = 40
  real(real64), parameter :: pi = 3.141592653589793_real64
  real(real64), allocatable, target :: t(:,:), profiles(:,:), centroids(:,:), distance(:), &
                                       bad(:,:)
  integer(int32), allocatable, target :: label(:)
  integer(int32), target :: k(1)
  character(len=1024) :: example_dir, arg
  character(len=2048) :: msg
  integer :: stat, step, nsteps, mismatches, i, j, counts(nclass)
  integer(int64) :: t0, t1, rate

  example_dir = '.'
  nsteps = 200
  if (command_argument_count() >= 1) call get_command_argument(1, example_dir)
  if (command_argument_count() >= 2) then
    call get_command_argument(2, arg)
    read (arg, *) nsteps
  end if
  allocate (t(nlev, ncol), profiles(nlev, ncol * nfit), centroids(nlev, nclass), &
            distance(ncol), label(ncol))

  ! Start Python early; the classifier module is found through `path`.
  call cl_py_init(stat=stat, errmsg=msg, path=trim(example_dir))
  if (stat /= CL_OK) call fail(msg)

  ! Fit once, on snapshots of the field.
  do step = 1, nfit
    call field(step * 7, t)
    profiles(:, (step - 1) * ncol + 1:step * ncol) = t
  end do
  k = nclass
  call cl_py_call("kmeans_classifier:fit", [cl_py_arg("profiles", profiles), cl_py_arg("nclass", k)], &
                  [cl_py_arg("centroids", centroids)], stat=stat, errmsg=msg)
  if (stat /= CL_OK) call fail(msg)

  ! Time loop: classify every column, every step.
  mismatches = 0
  counts = 0
  call system_clock(t0, rate)
  do step = 1, nsteps
    call field(step, t)
    call cl_py_call("kmeans_classifier:classify", [cl_py_arg("t", t)], &
                    [cl_py_arg("label", label), cl_py_arg("distance", distance)], &
                    stat=stat, errmsg=msg)
    if (stat /= CL_OK) call fail(msg)
    do i = 1, ncol
      j = nearest_centroid(t(:, i))
      if (j /= label(i) .or. abs(distance(i) - norm2(t(:, i) - centroids(:, j))) > &
          1e-9_real64 * (1 + distance(i))) mismatches = mismatches + 1
      counts(label(i)) = counts(label(i)) + 1
    end do
  end do
  call system_clock(t1)

  ! An error in Python is a status, not a crash: classify a field with the wrong depth.
  allocate (bad(nlev - 1, ncol))
  bad = 0
  call cl_py_call("kmeans_classifier:classify", [cl_py_arg("t", bad)], &
                  [cl_py_arg("label", label), cl_py_arg("distance", distance)], &
                  stat=stat, errmsg=msg)
  write (output_unit, '(a, i0, 2a)') 'EXPECTED_ERROR ', stat, ' ', trim(msg)

  write (output_unit, '(a, *(1x, i0))') 'CLASS_COUNTS', counts
  write (output_unit, '(a, i0)') 'MISMATCHES ', mismatches
  write (output_unit, '(a, f12.2)') 'US_PER_CALL', &
    1e6_real64 * real(t1 - t0, real64) / real(rate, real64) / max(nsteps, 1)
  call cl_py_finalize()

contains

  !> The field at step n: profile + waves of column-dependent amplitude and phase.
  subroutine field(n, f)
    integer, intent(in) :: n
    real(real64), intent(out) :: f(:,:)
    integer :: lev, col
    real(real64) :: z, amp
    do col = 1, size(f, 2)
      amp = 1 + 4 * real(mod(col * 37, 11), real64) / 10
      do lev = 1, size(f, 1)
        z = real(lev - 1, real64) / (size(f, 1) - 1)
        f(lev, col) = 288 - 60 * z + amp * sin(pi * z) * sin(0.05_real64 * n + 0.3_real64 * col)
      end do
    end do
  end subroutine field

  !> Index of the centroid nearest to profile p (the check done without Python).
  integer function nearest_centroid(p)
    real(real64), intent(in) :: p(:)
    real(real64) :: best, d
    integer :: j
    best = huge(best)
    nearest_centroid = 0
    do j = 1, nclass
      d = sum((p - centroids(:, j))**2)
      if (d < best) then
        best = d
        nearest_centroid = j
      end if
    end do
  end function nearest_centroid

  subroutine fail(text)
    character(len=*), intent(in) :: text
    write (error_unit, '(2a)') 'python_model: ', trim(text)
    error stop 1
  end subroutine fail
end program python_model
